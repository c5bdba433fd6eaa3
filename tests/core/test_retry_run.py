"""client.retry_run: a FAILED or TIMED_OUT run continues; completed tasks kept, failed ones tried afresh."""

from __future__ import annotations

from typing import Any

import pytest
from support.jobs import make_client
from triggerfish.core import (
    IO,
    Context,
    RetryPolicy,
    RunNotFound,
    RunNotRetryable,
    RunStatus,
    TaskStatus,
    invoke_trigger,
)
from triggerfish.core.testing import drive


class RecordingDispatcher:
    def __init__(self) -> None:
        self.dispatched: list[tuple[str, float]] = []

    async def dispatch(self, run_id: str, at: float) -> None:
        self.dispatched.append((run_id, at))


async def test_a_failed_run_continues_with_its_completed_tasks_and_fresh_attempts(
    store: Any,
) -> None:
    dispatcher = RecordingDispatcher()
    client = make_client(store, dispatcher=dispatcher)
    calls: list[str] = []
    broken = {"charge": True}

    @client.define_job(id="order", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        reserved = await io.run_task("reserve", lambda: calls.append("reserve") or "reserved")

        def charge() -> str:
            calls.append("charge")
            if broken["charge"] or calls.count("charge") == 3:  # the first retry fails too
                raise RuntimeError("card declined")
            return "charged"

        charged = await io.run_task("charge", charge, retry=RetryPolicy(limit=2, randomize=False))
        return [reserved, charged]

    run = await client.invoke("order", None)
    assert (await drive(client, run.id)).status is RunStatus.FAILED
    assert calls == ["reserve", "charge", "charge"]

    broken["charge"] = False
    dispatcher.dispatched.clear()
    before = client.clock.time()
    retried = await client.retry_run(run.id)
    assert retried.status is RunStatus.PENDING and retried.error is None
    ((dispatched_id, at),) = dispatcher.dispatched  # handed to the dispatcher, due now
    assert dispatched_id == run.id and before <= at <= client.clock.time()
    charge_task = next(t for t in retried.tasks if t.key == "charge")
    assert charge_task.status is TaskStatus.WAITING
    assert charge_task.error == {"type": "RuntimeError", "message": "card declined"}  # kept

    assert (await drive(client, run.id)).status is RunStatus.COMPLETED
    # "reserve" is not run again; "charge" got a fresh limit of 2: attempts 3 (fails), 4
    assert calls == ["reserve", "charge", "charge", "charge", "charge"]
    done = await client.get_run(run.id)
    assert done.output == ["reserved", "charged"]
    tasks = {t.key: t for t in done.tasks}
    assert (tasks["reserve"].attempts, tasks["charge"].attempts) == (1, 4)
    assert tasks["charge"].status is TaskStatus.COMPLETED


async def test_a_failed_subtask_and_its_parent_are_both_tried_again(store: Any) -> None:
    client = make_client(store)
    broken = {"child": True}
    runs: list[str] = []

    @client.define_job(id="tree", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        async def parent() -> str:
            runs.append("parent")

            def child() -> str:
                runs.append("child")
                if broken["child"]:
                    raise ValueError("not yet")
                return "ok"

            return str(await io.run_task("child", child))

        return await io.run_task("parent", parent)

    run = await client.invoke("tree", None)
    assert (await drive(client, run.id)).status is RunStatus.FAILED
    broken["child"] = False
    await client.retry_run(run.id)
    assert (await drive(client, run.id)).status is RunStatus.COMPLETED
    assert runs == ["parent", "child", "parent", "child"]
    assert (await client.get_run(run.id)).output == "ok"


async def test_a_timed_out_run_gets_a_fresh_max_duration_clock(store: Any) -> None:
    client = make_client(store)

    @client.define_job(id="slow", trigger=invoke_trigger(), max_duration=60)
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        await io.run_task("first", lambda: 1)
        await io.wait("long", 120)
        return await io.run_task("second", lambda: 2)

    run = await client.invoke("slow", None)
    assert (await drive(client, run.id)).status is RunStatus.TIMED_OUT
    retried = await client.retry_run(run.id)
    assert retried.status is RunStatus.PENDING
    assert (await drive(client, run.id)).status is RunStatus.COMPLETED
    assert (await client.get_run(run.id)).output == 2


@pytest.mark.parametrize("store_kind", ["sqlite"], indirect=True)
async def test_a_retried_run_queues_behind_its_jobs_concurrency_limit(store: Any) -> None:
    client = make_client(store)
    broken = {"first": True}

    @client.define_job(id="single", trigger=invoke_trigger(), concurrency_limit=1)
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        if payload == "holder":
            await io.wait("hold", 30)
            return "held"

        def step() -> str:
            if broken["first"]:
                raise RuntimeError("down")
            return "up"

        return await io.run_task("step", step)

    first = await client.invoke("single", "retried")
    assert (await drive(client, first.id)).status is RunStatus.FAILED
    holder = await client.invoke("single", "holder")
    assert (await client.execute(holder.id)).status is RunStatus.WAITING  # holds the slot

    broken["first"] = False
    await client.retry_run(first.id)
    assert (await client.execute(first.id)).status is RunStatus.QUEUED
    assert (await drive(client, holder.id)).status is RunStatus.COMPLETED
    assert (await drive(client, first.id)).status is RunStatus.COMPLETED
    assert (await client.get_run(first.id)).output == "up"


@pytest.mark.parametrize("store_kind", ["sqlite"], indirect=True)
async def test_only_failed_or_timed_out_runs_can_be_retried(store: Any) -> None:
    client = make_client(store)

    @client.define_job(id="fine", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        return "fine"

    run = await client.invoke("fine", None)
    with pytest.raises(RunNotRetryable, match="PENDING; only a FAILED or TIMED_OUT"):
        await client.retry_run(run.id)
    await drive(client, run.id)
    with pytest.raises(RunNotRetryable, match="is COMPLETED") as caught:
        await client.retry_run(run.id)
    assert (caught.value.run_id, caught.value.status) == (run.id, "COMPLETED")
    with pytest.raises(RunNotFound):
        await client.retry_run("run_missing")
    assert (await client.get_run(run.id)).status is RunStatus.COMPLETED
