"""Hardening: lost races, store failures, item sizes, cancels and leases under stress.

Each test was written first as a failing proof of a bug found in review.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pydantic
import pytest
from support.aws import make_dynamodb_store
from support.jobs import make_client
from triggerfish.core import (
    IO,
    Context,
    RetryPolicy,
    RunStatus,
    TaskFailed,
    TaskStatus,
    event_trigger,
    invoke_trigger,
)
from triggerfish.core.engine import DEFAULT_LEASE_SECONDS, LEASE_GRACE_SECONDS, task_id_for
from triggerfish.core.errors import StoreError
from triggerfish.core.store.base import RunRecord, TaskRecord
from triggerfish.core.testing import drive

NOW = 1_800_000_000.0
BIG_A = json.dumps("A" * 400_000)
BIG_B = json.dumps("B" * 400_000)


def _store_with_bucket(moto_url: str) -> Any:
    import boto3

    bucket = f"outputs-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1").create_bucket(Bucket=bucket)
    return make_dynamodb_store(moto_url, bucket=bucket)


# -- S3 offload: a losing conditional write must not change what the winner recorded ------


def test_a_losing_task_write_does_not_replace_the_winners_large_output(moto_url: str) -> None:
    store = _store_with_bucket(moto_url)
    store.create_run(RunRecord(id="run_1", job_id="job", status=RunStatus.PENDING, created_at=NOW))
    winner = TaskRecord(run_id="run_1", id="t1", key="k", status=TaskStatus.COMPLETED,
                        attempts=1, output_json=BIG_A)
    assert store.put_task(winner)
    # A second (stale) invocation finishes the same task with another output: its write is
    # refused by the self-guard, so the recorded output must still be the winner's.
    assert not store.put_task(replace(winner, output_json=BIG_B))
    assert store.get_task("run_1", "t1").output_json == BIG_A


def test_a_fenced_out_run_write_does_not_replace_the_large_run_output(moto_url: str) -> None:
    store = _store_with_bucket(moto_url)
    store.create_run(RunRecord(id="run_1", job_id="job", status=RunStatus.PENDING, created_at=NOW))
    assert store.acquire_lease("run_1", owner="a", now=NOW, lease_expires_at=NOW + 60,
                               expired_owner=None)
    done = {"status": RunStatus.COMPLETED, "output_json": BIG_A, "lease_owner": None,
            "lease_expires_at": None, "due_at": None}
    assert store.update_run("run_1", owner="a", changes=done)
    # An invocation that lost its lease tries to write its own end: fenced out...
    assert not store.update_run("run_1", owner="b", changes={**done, "output_json": BIG_B})
    # ...so the COMPLETED run must still show the winner's output.
    assert store.get_run("run_1").output_json == BIG_A


# -- the lease and fencing ------------------------------------------------------------------


async def test_a_lost_task_write_never_hands_the_run_a_none_output(store: Any) -> None:
    client = make_client(store)
    observed: list[Any] = []

    @client.define_job(id="lost", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        def fetch() -> str:
            # Meanwhile an invocation that took this run over recorded a later attempt of
            # the same task (waiting for its retry): our COMPLETED attempt-1 write will lose.
            store.put_task(TaskRecord(
                run_id=ctx.run.id, id=task_id_for(ctx.run.id, None, "fetch"), key="fetch",
                status=TaskStatus.WAITING, attempts=2, error={"type": "E", "message": "m"},
                resume_at=client.clock.time() + 3600,
            ))
            return "value"

        value = await io.run_task("fetch", fetch, retry=RetryPolicy(limit=5))
        observed.append(value)
        await io.run_task("use", lambda: observed.append(("used", value)))
        return value

    run = await client.invoke("lost", None)
    await client.execute(run.id)

    # The task never completed, yet the run function carried on with None as its output
    # (and ran the next task with it).
    assert None not in observed
    assert ("used", None) not in observed


async def test_a_task_still_running_when_a_sibling_suspends_is_not_run_twice(store: Any) -> None:
    client = make_client(store)
    runs: Counter[str] = Counter()

    @client.define_job(id="parallel", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        async def slow() -> str:
            runs["slow"] += 1
            await asyncio.sleep(0.3)
            return "slow"

        def flaky() -> str:
            runs["flaky"] += 1
            if runs["flaky"] == 1:
                raise ConnectionError("reset")
            return "ok"

        return await asyncio.gather(
            io.run_task("slow", slow),
            io.run_task("flaky", flaky, retry=RetryPolicy(limit=2, randomize=False)),
        )

    run = await client.invoke("parallel", None)
    report = await drive(client, run.id)
    await asyncio.sleep(0.4)  # let any orphaned task finish

    assert report.status is RunStatus.COMPLETED
    # "slow" is still executing when its sibling suspends: the invocation must let it
    # record before releasing the lease, or the next invocation runs it again.
    assert runs["slow"] == 1


async def test_a_task_longer_than_the_lease_is_not_run_twice_while_its_invocation_lives(
    store: Any,
) -> None:
    client = make_client(store)
    calls = 0

    @client.define_job(id="long", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        async def long_task() -> str:
            nonlocal calls
            calls += 1
            if calls == 1:
                # A 16-minute task in an invocation without a deadline (LocalDispatcher, the
                # ASGI execute endpoint without a deadline header): the lease is never renewed
                # while it runs, so another worker's sweep takes it over.
                client.clock.advance(DEFAULT_LEASE_SECONDS + LEASE_GRACE_SECONDS + 60)
                await asyncio.create_task(client.execute(ctx.run.id))
            return "done"

        return await io.run_task("long", long_task)

    run = await client.invoke("long", None)
    await client.execute(run.id)

    assert calls == 1


async def test_cancel_during_an_invocation_starts_no_new_task(store: Any) -> None:
    client = make_client(store)
    calls: list[str] = []

    @client.define_job(id="cancel", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> None:
        async def first() -> int:
            calls.append("first")
            await client.cancel_run(ctx.run.id)
            return 1

        await io.run_task("first", first)
        await io.run_task("second", lambda: calls.append("second"))

    run = await client.invoke("cancel", None)
    outcome = await client.execute(run.id)

    assert outcome.status is RunStatus.CANCELED
    assert calls == ["first"]  # Client.cancel_run: "Cancels a live run (no new task starts)"


async def test_renewing_the_lease_moves_the_due_time_too(store: Any) -> None:
    client = make_client(store)
    due_during: list[list[str]] = []

    @client.define_job(id="renew", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> None:
        await io.run_task("a", lambda: client.clock.advance(0.8 * DEFAULT_LEASE_SECONDS))

        def b() -> None:
            # past the first lease, inside the renewed one
            client.clock.advance(0.4 * DEFAULT_LEASE_SECONDS + LEASE_GRACE_SECONDS)
            due_during.append(store.list_due_runs(now=client.clock.time(), limit=10))

        await io.run_task("b", b)

    run = await client.invoke("renew", None)
    await client.execute(run.id)  # no deadline: the lease is renewed before "b"

    assert due_during == [[]], "the sweeper sees a run with a live lease as due"


# -- store failures and item sizes ----------------------------------------------------------


class FlakyStore:
    """Wraps a store; the first put_task of a COMPLETED record fails as a store error."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.failed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def put_task(self, task: TaskRecord) -> bool:
        if not self.failed and task.status is TaskStatus.COMPLETED:
            self.failed = True
            raise StoreError("put_task on runs: ProvisionedThroughputExceededException")
        return bool(self._inner.put_task(task))


async def test_a_store_failure_while_recording_a_task_does_not_fail_the_run(store: Any) -> None:
    flaky = FlakyStore(store)
    client = make_client(flaky)
    seen: list[str] = []

    @client.define_job(id="blip", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> str:
        try:
            return str(await io.run_task("call", lambda: "ok"))
        except Exception as exc:  # a user's catch-all sees the store's own failure
            seen.append(type(exc).__name__)
            raise

    run = await client.invoke("blip", None)
    outcome = await client.execute(run.id)

    assert seen == []
    assert outcome.status is not RunStatus.FAILED


async def test_a_task_error_with_a_huge_message_fails_the_task_cleanly(store: Any) -> None:
    client = make_client(store)

    def boom() -> None:
        raise RuntimeError("x" * 500_000)  # e.g. an HTTP error carrying a whole body

    @client.define_job(id="huge-error", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> None:
        await io.run_task("boom", boom)

    run = await client.invoke("huge-error", None)
    report = await drive(client, run.id)

    assert report.status is RunStatus.FAILED
    finished = await client.get_run(run.id)
    assert finished.error is not None
    assert (finished.error["type"], finished.error["task"]) == ("RuntimeError", "boom")
    assert len(finished.error["message"]) < 10_000
    (task,) = finished.tasks
    assert task.status is TaskStatus.ERRORED


class Typed(pydantic.BaseModel):
    url: str


async def test_a_large_payload_that_fails_the_schema_still_creates_an_invalid_run(
    store: Any,
) -> None:
    client = make_client(store)
    client.define_job(id="typed", trigger=invoke_trigger(schema=Typed),
                      run=lambda payload, io, ctx: asyncio.sleep(0))

    # 230 KB is under the 256 KB payload limit; the pydantic issue repeats it as "input".
    run = await client.invoke("typed", "x" * 230_000)

    assert run.status is RunStatus.INVALID_PAYLOAD


# -- replay determinism, retries, context -----------------------------------------------------


def test_retry_delay_of_a_late_attempt_is_capped_not_an_overflow() -> None:
    policy = RetryPolicy(limit=10_000, randomize=False)
    assert policy.delay_seconds(2_000) == policy.max_timeout


async def test_ctx_event_timestamp_is_the_events_timestamp(store: Any) -> None:
    client = make_client(store)
    seen: list[Context] = []

    @client.define_job(id="evt", trigger=event_trigger("foo.bar"))
    async def job(payload: Any, io: IO, ctx: Context) -> None:
        seen.append(ctx)

    when = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    event = await client.send_event("foo.bar", {}, id="e-1", timestamp=when)
    await drive(client, event.run_ids[0])

    (ctx,) = seen
    assert ctx.event.timestamp == when


async def test_task_failed_is_identical_on_first_run_and_replay_for_a_subtask(
    store: Any,
) -> None:
    """Control: TaskFailed from a subtask, caught, then a wait; both invocations agree."""
    client = make_client(store)
    seen: list[tuple[str, dict[str, Any]]] = []

    @client.define_job(id="sub", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> str:
        async def parent() -> None:
            await io.run_task("child", lambda: 1 / 0)

        try:
            await io.run_task("parent", parent)
        except TaskFailed as exc:
            seen.append((str(exc), exc.error))
        await io.wait("pause", seconds=5)
        return "ok"

    run = await client.invoke("sub", None)
    report = await drive(client, run.id)

    assert report.status is RunStatus.COMPLETED
    assert len(seen) == 2 and seen[0] == seen[1]


@pytest.mark.parametrize("limit", [1, 3])
async def test_retry_limit_counts_every_attempt(store: Any, limit: int) -> None:
    """Control: `limit` is the most attempts in all, the first included."""
    client = make_client(store)
    calls = 0

    def broken() -> None:
        nonlocal calls
        calls += 1
        raise ValueError("no")

    @client.define_job(id="lim", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> None:
        await io.run_task("t", broken, retry=RetryPolicy(limit=limit, randomize=False))

    run = await client.invoke("lim", None)
    report = await drive(client, run.id)
    assert report.status is RunStatus.FAILED
    assert calls == limit


async def test_a_large_payload_and_a_large_output_together_fail_clearly_without_a_bucket(
    store: Any,
) -> None:
    client = make_client(store)

    @client.define_job(id="echo", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> str:
        return "y" * 300_000  # under the 350 KB inline limit on its own

    run = await client.invoke("echo", "x" * 200_000)  # under the 256 KB payload limit
    report = await drive(client, run.id)

    if type(store).__name__ == "SQLiteStore":
        assert report.status is RunStatus.COMPLETED
        return
    # Payload and output share the run item (DynamoDB's 400 KB): without a bucket the
    # run fails with an error that says what to do, instead of staying EXECUTING.
    assert report.status is RunStatus.FAILED
    error = (await client.get_run(run.id)).error
    assert error is not None and "TRIGGERFISH_BUCKET" in error["message"]


async def test_a_large_payload_and_a_large_output_fit_one_run_with_a_bucket(moto_url: str) -> None:
    client = make_client(_store_with_bucket(moto_url))

    @client.define_job(id="echo", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> str:
        return "y" * 300_000

    run = await client.invoke("echo", "x" * 200_000)
    report = await drive(client, run.id)

    assert report.status is RunStatus.COMPLETED
    assert (await client.get_run(run.id)).output == "y" * 300_000


async def test_a_long_task_keeps_its_lease_through_the_heartbeat(
    store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from triggerfish.core import lease

    monkeypatch.setattr(lease, "HEARTBEAT_SECONDS", 0.02)
    client = make_client(store)
    leases: list[float | None] = []

    @client.define_job(id="beat", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> None:
        async def long_task() -> None:
            first = await client.get_run(ctx.run.id, tasks=False)
            leases.append(store.get_run(first.id).lease_expires_at)
            # Past a third of the lease, the heartbeat (not a task boundary) renews it.
            client.clock.advance(0.5 * DEFAULT_LEASE_SECONDS)
            for _ in range(200):
                await asyncio.sleep(0.02)
                current = store.get_run(first.id).lease_expires_at
                if current != leases[0]:
                    leases.append(current)
                    return

        await io.run_task("long", long_task)

    run = await client.invoke("beat", None)
    outcome = await client.execute(run.id)

    assert outcome.status is RunStatus.COMPLETED
    assert len(leases) == 2 and leases[0] is not None and leases[1] is not None
    assert leases[1] > leases[0], "the heartbeat did not renew the lease of a long task"

