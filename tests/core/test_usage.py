"""Run.usage and Run.cost_usd: requests counted per invocation, checked against botocore."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest
from triggerfish.core import (
    IO,
    Client,
    Context,
    RunStatus,
    SkippingClock,
    SQLiteStore,
    invoke_trigger,
)
from triggerfish.core.testing import drive
from triggerfish.core.usage import Prices, Usage

READS = {"GetItem", "Query", "Scan", "BatchGetItem"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem"}


async def job_body(payload: Any, io: IO, ctx: Context) -> int:
    total = 0
    for n in range(3):
        total += await io.run_task(f"step-{n}", lambda n=n: n)
        for line in range(30):  # more than one BatchWriteItem of log lines
            io.logger.info(f"line {line}", step=n)
    await io.wait("nap", seconds=120)
    return total + await io.run_task("last", lambda: 10)


class BotocoreTally:
    """What botocore itself reports sending, while `active`."""

    def __init__(self) -> None:
        self.active = False
        self.calls: Counter[str] = Counter()
        self.batch_items = 0

    def after_call(self, model: Any, **_: Any) -> None:
        if self.active:
            self.calls[model.name] += 1

    def before_batch(self, params: dict[str, Any], **_: Any) -> None:
        if self.active:
            self.batch_items += sum(len(v) for v in params["RequestItems"].values())

    @property
    def reads(self) -> int:
        return sum(n for op, n in self.calls.items() if op in READS)

    @property
    def writes(self) -> int:
        return sum(n for op, n in self.calls.items() if op in WRITES) + self.batch_items


async def test_usage_on_moto_matches_what_botocore_sent(moto_url: str) -> None:
    import boto3
    from triggerfish.core import DynamoDBStore, SQSDispatcher

    clock = SkippingClock()
    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName=f"usage-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    store = DynamoDBStore(f"usage-{uuid.uuid4().hex[:8]}", endpoint_url=moto_url,
                          region="us-east-1")
    store.create_table()
    prices = Prices(lambda_memory_mb=512)
    client = Client("usage", store=store, clock=clock, prices=prices,
                    dispatcher=SQSDispatcher(queue_url, client=sqs, clock=clock))
    client.define_job(id="metered", trigger=invoke_trigger(), run=job_body)

    tally = BotocoreTally()
    store._db.meta.events.register("after-call.dynamodb", tally.after_call)
    store._db.meta.events.register("before-parameter-build.dynamodb.BatchWriteItem", tally.before_batch)
    sqs.meta.events.register("after-call.sqs.SendMessage", tally.after_call)

    run = await client.invoke("metered", None)
    invocations = 0
    while True:
        tally.active = True
        outcome = await client.execute(run.id)
        tally.active = False
        invocations += 1
        if outcome.status.is_final:
            break
        assert outcome.resume_at is not None
        clock.advance_to(outcome.resume_at)

    finished = await client.get_run(run.id)
    assert finished.status is RunStatus.COMPLETED, finished.error
    usage = finished.usage
    assert tally.calls["BatchWriteItem"] >= 4  # 90 log lines went out in batches of 25
    assert usage.invocations == invocations == 2
    assert usage.store_reads == tally.reads
    assert usage.store_writes == tally.writes
    assert usage.queue_messages == tally.calls["SendMessage"] == 1
    assert usage.blob_requests == 0
    assert usage.billed_seconds > 0
    assert finished.cost_usd == pytest.approx(prices.cost(usage), rel=1e-3)
    assert finished.cost_usd > 0


async def test_usage_adds_up_over_invocations_on_sqlite_and_prices_are_configurable() -> None:
    clock = SkippingClock()
    cheap = Client("a", store=SQLiteStore(":memory:"), clock=clock)
    dear = Client("b", store=SQLiteStore(":memory:"), clock=clock,
                  prices=Prices(lambda_gb_second=1.0, lambda_memory_mb=2048))
    costs = []
    for client in (cheap, dear):
        client.define_job(id="metered", trigger=invoke_trigger(), run=job_body)
        run = await client.invoke("metered", None)
        report = await drive(client, run.id)
        finished = await client.get_run(run.id)
        assert finished.usage.invocations == len(report.invocations) == 2
        # The first lease reads nothing (lease_run returns the run; no history yet); the
        # second loads the history: fewer reads than before issue 9's cold start work.
        assert finished.usage.store_reads >= 1
        assert finished.usage.store_writes >= 8  # tasks, the wait, logs, leases, ends
        assert finished.usage.queue_messages == 0  # no SQS here
        costs.append(finished.cost_usd)
    assert costs[1] > costs[0] * 100
    assert Prices().cost(Usage()) == 0.0


def test_prices_reject_bad_values_and_from_env_reads_lambda_memory(tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="lambda_memory_mb"):
        Prices(lambda_memory_mb=0)
    env = {"TRIGGERFISH_DB": str(tmp_path / "r.db"), "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "2048"}
    client = Client.from_env("x", environ=env)
    assert client.runtime.prices is not None
    assert client.runtime.prices.lambda_memory_mb == 2048
    with pytest.raises(ValueError, match="AWS_LAMBDA_FUNCTION_MEMORY_SIZE"):
        Client.from_env("x", environ={**env, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "lots"})
