"""`client.pause_job` / `resume_job`: new runs wait QUEUED, running ones stop at their next
invocation, resume drains the queue oldest first, nothing is lost (issue 19.6)."""

from __future__ import annotations

from typing import Any

import pytest
from support.jobs import make_client
from triggerfish.core import IO, Client, Context, JobNotFound, RunStatus, invoke_trigger
from triggerfish.core.slots import QUEUE_SWEEP_SECONDS
from triggerfish.core.testing import drive


class RecordingDispatcher:
    """Remembers what it was asked to run, in order, and runs nothing."""

    def __init__(self) -> None:
        self.dispatched: list[str] = []

    async def dispatch(self, run_id: str, at: float) -> None:
        self.dispatched.append(run_id)


def define_steps(client: Client, executed: list[str], **options: Any) -> None:
    @client.define_job(id="steps", trigger=invoke_trigger(), **options)
    async def steps(payload: Any, io: IO, ctx: Context) -> Any:
        def step(name: str) -> str:
            executed.append(f"{payload}:{name}")
            return name

        await io.run_task("a", lambda: step("a"))
        await io.wait("pause-here", seconds=10)
        return await io.run_task("b", lambda: step("b"))


async def test_a_paused_jobs_new_runs_wait_queued_and_resume_drains_them_in_order(
    store: Any,
) -> None:
    dispatcher = RecordingDispatcher()
    client = make_client(store, dispatcher=dispatcher)
    executed: list[str] = []
    define_steps(client, executed)

    assert await client.pause_job("steps") is True
    assert await client.pause_job("steps") is False  # safe to repeat
    runs = [await client.invoke("steps", n) for n in range(3)]

    assert [r.status for r in runs] == [RunStatus.QUEUED] * 3
    assert dispatcher.dispatched == []  # not handed to anyone while paused
    report = await drive(client, runs[0].id)  # even an invocation forced through waits
    assert report.status is RunStatus.QUEUED and executed == []
    assert await client.is_job_paused("steps")

    assert await client.resume_job("steps") is True
    assert dispatcher.dispatched == [r.id for r in runs]  # oldest first
    for run in runs:
        assert (await drive(client, run.id)).status is RunStatus.COMPLETED
    assert executed == [f"{n}:{step}" for n in range(3) for step in "ab"]
    assert not await client.is_job_paused("steps")
    assert await client.resume_job("steps") is False


async def test_a_running_run_stops_at_its_next_invocation_and_loses_nothing(store: Any) -> None:
    client = make_client(store)
    executed: list[str] = []
    define_steps(client, executed)
    run = await client.invoke("steps", "r")
    first = await client.execute(run.id)
    assert first.status is RunStatus.WAITING and executed == ["r:a"]

    await client.pause_job("steps")
    client.clock.advance_to(first.resume_at)  # type: ignore[attr-defined]
    paused = await client.execute(run.id)

    assert paused.status is RunStatus.QUEUED and paused.resume_at is None
    assert executed == ["r:a"]
    assert (await client.get_run(run.id)).status is RunStatus.QUEUED
    await client.resume_job("steps")
    assert (await drive(client, run.id)).status is RunStatus.COMPLETED
    assert executed == ["r:a", "r:b"]  # task a was not run again
    assert (await client.get_run(run.id)).output == "b"


async def test_the_pause_holds_for_another_process_on_the_same_store(store: Any) -> None:
    pausing = make_client(store)
    other = make_client(store)  # another process or Lambda container: its own cache
    for client in (pausing, other):
        define_steps(client, [])
    await pausing.pause_job("steps")

    run = await other.invoke("steps", 1)

    assert run.status is RunStatus.QUEUED
    assert await other.is_job_paused("steps")
    assert (await other.execute(run.id)).status is RunStatus.QUEUED


async def test_a_run_queued_by_a_late_seen_resume_is_woken_by_the_sweeper(store: Any) -> None:
    stale = make_client(store)
    resuming = make_client(store)
    for client in (stale, resuming):
        define_steps(client, [])
    await stale.pause_job("steps")
    await resuming.resume_job("steps")

    run = await stale.invoke("steps", 1)  # within its cache's lifetime: still "paused"
    assert run.status is RunStatus.QUEUED

    now = resuming.clock.time() + QUEUE_SWEEP_SECONDS
    assert run.id in await resuming.tick(now=now)
    assert (await drive(resuming, run.id)).status is RunStatus.COMPLETED


async def test_a_paused_limited_job_gives_its_slot_back_and_wakes_no_one(store: Any) -> None:
    dispatcher = RecordingDispatcher()
    client = make_client(store, dispatcher=dispatcher, yield_margin=5)
    executed: list[str] = []

    @client.define_job(id="limited", trigger=invoke_trigger(), concurrency_limit=1)
    async def limited(payload: Any, io: IO, ctx: Context) -> Any:
        executed.append(payload)
        return await io.run_task("t", lambda: payload)

    holder = await client.invoke("limited", "holder")
    waiting = await client.invoke("limited", "waiting")
    near = client.clock.time() + 1  # inside the yield margin: it yields, keeping its slot
    assert (await client.execute(holder.id, deadline=near)).status is RunStatus.EXECUTING
    assert (await client.execute(waiting.id)).status is RunStatus.QUEUED  # no free slot
    await client.pause_job("limited")
    dispatcher.dispatched.clear()

    assert (await client.execute(holder.id)).status is RunStatus.QUEUED
    assert dispatcher.dispatched == []  # its slot is free, but no queued run is woken
    assert (await client.get_run(holder.id, tasks=False)).status is RunStatus.QUEUED

    await client.resume_job("limited")
    assert dispatcher.dispatched == [holder.id]  # one free slot: the oldest queued run
    assert (await drive(client, holder.id)).status is RunStatus.COMPLETED
    assert dispatcher.dispatched[-1] == waiting.id  # its slot went to the next
    assert (await drive(client, waiting.id)).status is RunStatus.COMPLETED
    assert executed == ["holder", "holder", "waiting"]  # the yield ran holder's function twice


async def test_pausing_an_unknown_job_is_job_not_found(store: Any) -> None:
    client = make_client(store)
    for call in (client.pause_job, client.resume_job, client.is_job_paused):
        with pytest.raises(JobNotFound):
            await call("nope")
