"""The Lambda loop: DynamoDB and SQS on moto's server, a worker that resumes runs from SQS."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

from lambda_support import AwsStack
from triggerfish.adapters.aws_lambda import create_handler
from triggerfish.core import IO, Context, RunStatus, invoke_trigger

TASK_SECONDS = 0.2


def test_forty_tasks_complete_over_several_invocations_inside_each_deadline(
    moto_url: str,
) -> None:
    stack = AwsStack.build(moto_url)
    executed: Counter[str] = Counter()

    @stack.client.define_job(id="forty", trigger=invoke_trigger())
    async def forty(payload: Any, io: IO, ctx: Context) -> int:
        for n in range(40):

            async def work(n: int = n) -> int:
                executed[f"t{n}"] += 1
                await asyncio.sleep(TASK_SECONDS)
                return n

            await io.run_task(f"t{n}", work)
        return 40

    handler = create_handler(stack.client)
    run = asyncio.run(stack.client.invoke("forty", None))
    invocations = stack.run_worker(handler, run.id, budget_ms=3000)

    final = stack.client.store.get_run(run.id)
    assert final.status is RunStatus.COMPLETED
    assert executed == Counter({f"t{n}": 1 for n in range(40)})
    assert len(invocations) >= 3
    assert all(i.ended_at <= i.deadline for i in invocations)
    assert all(i.result == {"batchItemFailures": []} for i in invocations)


def test_a_two_hour_wait_hops_through_sqs_delays(moto_url: str) -> None:
    stack = AwsStack.build(moto_url, skip_delays=True)

    @stack.client.define_job(id="nap", trigger=invoke_trigger())
    async def nap(payload: Any, io: IO, ctx: Context) -> str:
        await io.wait("two-hours", seconds=2 * 3600)
        return "awake"

    handler = create_handler(stack.client)
    run = asyncio.run(stack.client.invoke("nap", None))
    stack.run_worker(handler, run.id, budget_ms=3000)

    final = stack.client.store.get_run(run.id)
    assert final.status is RunStatus.COMPLETED
    assert max(stack.requested_delays) == 900
    assert stack.requested_delays.count(900) >= 7
    assert 7200 <= sum(stack.requested_delays) <= 7200 + 10
    assert final.invocation_count == 2, "hops must not take the run's lease"


def test_a_message_delivered_twice_changes_nothing(moto_url: str) -> None:
    stack = AwsStack.build(moto_url)
    executed: Counter[str] = Counter()

    @stack.client.define_job(id="once", trigger=invoke_trigger())
    async def once(payload: Any, io: IO, ctx: Context) -> int:
        for n in range(3):
            await io.run_task(f"t{n}", lambda n=n: executed.update([f"t{n}"]) or n)
        return 3

    handler = create_handler(stack.client)
    run = asyncio.run(stack.client.invoke("once", None))
    body = json.dumps({"type": "resume", "run_id": run.id, "at": stack.clock.time()})
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=body)
    stack.run_worker(handler, run.id, budget_ms=3000)
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=body)
    stack.run_worker(handler, run.id, budget_ms=3000)

    assert stack.client.store.get_run(run.id).status is RunStatus.COMPLETED
    assert executed == Counter({"t0": 1, "t1": 1, "t2": 1})


def test_a_bad_record_fails_alone_and_the_rest_of_the_batch_is_processed(
    moto_url: str,
) -> None:
    stack = AwsStack.build(moto_url)

    @stack.client.define_job(id="ok", trigger=invoke_trigger())
    async def ok(payload: Any, io: IO, ctx: Context) -> str:
        return "fine"

    handler = create_handler(stack.client)
    run = asyncio.run(stack.client.invoke("ok", None))
    good = stack.sqs.receive_message(QueueUrl=stack.queue_url)["Messages"][0]
    event = {
        "Records": [
            {"messageId": "bad-1", "body": "not json", "eventSource": "aws:sqs"},
            {"messageId": good["MessageId"], "body": good["Body"], "eventSource": "aws:sqs"},
        ]
    }
    result = handler(event, None)

    assert result == {"batchItemFailures": [{"itemIdentifier": "bad-1"}]}
    assert stack.client.store.get_run(run.id).status is RunStatus.COMPLETED


def test_a_background_fetch_is_done_by_a_worker_invocation_through_sqs(moto_url: str) -> None:
    from support.http_target import http_target

    stack = AwsStack.build(moto_url)
    with http_target() as (url, hits):

        @stack.client.define_job(id="fetch", trigger=invoke_trigger())
        async def fetch_job(payload: Any, io: IO, ctx: Context) -> int:
            response = await io.background_fetch("get", f"{url}/ok")
            return int(response["status"])

        handler = create_handler(stack.client)
        run = asyncio.run(stack.client.invoke("fetch", None))
        invocations = stack.run_worker(handler, run.id, budget_ms=3000)

    final = stack.client.store.get_run(run.id)
    assert final.status is RunStatus.COMPLETED
    assert json.loads(final.output_json) == 200
    assert hits["/ok"] == 1
    assert final.invocation_count == 2, "the request itself ran in a worker, not in the run"
    assert len(invocations) >= 3
