"""Killed invocations (crashes: FAILED "crash loop"; timeouts: TIMED_OUT), max_duration."""

from __future__ import annotations

import asyncio
from typing import Any

from support.jobs import make_client
from triggerfish.core import IO, Context, RunStatus, invoke_trigger
from triggerfish.core.engine import LEASE_GRACE_SECONDS, MAX_CRASHES, MAX_TIMEOUTS
from triggerfish.core.testing import drive


async def test_invocations_killed_again_and_again_without_a_mark_end_failed_as_a_crash_loop(
    store: Any,
) -> None:
    client = make_client(store)

    @client.define_job(id="too-long", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> None:
        await io.run_task("quick", lambda: 1)
        await io.run_task("endless", lambda: 2)

    run = await client.invoke("too-long", None)
    for _ in range(MAX_CRASHES + 1):
        # The process dies each invocation before it can write anything back: simulate it
        # by taking the lease the way an invocation does and never releasing it.
        now = client.clock.time()
        current = store.get_run(run.id)
        expired = current.lease_owner if current.lease_owner else None
        assert store.acquire_lease(run.id, owner=f"killed-{now}", now=now,
                                   lease_expires_at=now + 3, expired_owner=expired)
        client.clock.advance(3 + LEASE_GRACE_SECONDS + 1)

    outcome = await client.execute(run.id)

    assert outcome.status is RunStatus.FAILED
    error = (await client.get_run(run.id)).error
    assert error is not None and error["type"] == "CrashLoop"
    assert "crash loop" in error["message"]


async def test_a_killed_invocation_that_made_progress_does_not_count(store: Any) -> None:
    client = make_client(store)

    @client.define_job(id="progress", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> str:
        for n in range(MAX_TIMEOUTS + MAX_CRASHES):
            await io.run_task(f"t{n}", lambda n=n: n)
            await io.wait(f"w{n}", seconds=1)
        return "done"

    run = await client.invoke("progress", None)
    for _ in range(40):
        outcome = await client.execute(run.id)
        if outcome.status.is_final:
            break
        client.clock.advance(2)
    assert outcome.status is RunStatus.COMPLETED


async def test_max_duration_ends_a_run_timed_out(store: Any) -> None:
    client = make_client(store)

    @client.define_job(id="bounded", trigger=invoke_trigger(), max_duration=60)
    async def job(payload: Any, io: IO, ctx: Context) -> None:
        await io.wait("long", seconds=3600)

    run = await client.invoke("bounded", None)
    assert (await client.execute(run.id)).status is RunStatus.WAITING
    client.clock.advance(3601)
    assert (await client.execute(run.id)).status is RunStatus.TIMED_OUT


async def test_max_duration_is_checked_before_every_task_not_only_at_the_start(
    store: Any,
) -> None:
    client = make_client(store)
    ran: list[int] = []

    @client.define_job(id="six", trigger=invoke_trigger(), max_duration=1)
    async def job(payload: Any, io: IO, ctx: Context) -> None:
        for n in range(6):

            async def step(n: int = n) -> None:
                ran.append(n)
                client.clock.advance(0.4)

            await io.run_task(f"step-{n}", step)

    run = await client.invoke("six", None)
    outcome = await client.execute(run.id)

    assert outcome.status is RunStatus.TIMED_OUT
    assert ran == [0, 1, 2]
    stored = await client.get_run(run.id)
    assert stored.error is not None
    assert "max_duration" in stored.error["message"]


async def test_time_spent_queued_before_the_first_start_does_not_count(store: Any) -> None:
    client = make_client(store)
    release = asyncio.Event()
    holding = asyncio.Event()

    @client.define_job(id="bounded", trigger=invoke_trigger(), max_duration=60,
                       concurrency_limit=1)  # fmt: skip
    async def job(payload: Any, io: IO, ctx: Context) -> str:
        async def hold() -> None:
            if payload == "holder":
                holding.set()
                await release.wait()

        await io.run_task("hold", hold)
        return "done"

    holder = await client.invoke("bounded", "holder")
    queued = await client.invoke("bounded", "queued")
    holder_run = asyncio.create_task(client.execute(holder.id))
    await asyncio.wait_for(holding.wait(), 30)
    assert (await client.execute(queued.id)).status is RunStatus.QUEUED
    client.clock.advance(3600)  # an hour in the queue
    release.set()
    assert (await holder_run).status is RunStatus.COMPLETED

    report = await drive(client, queued.id)

    assert report.status is RunStatus.COMPLETED
    stored = await client.get_run(queued.id)
    assert stored.started_at is not None
    assert stored.started_at.timestamp() >= stored.created_at.timestamp() + 3600


async def test_yields_before_any_task_back_off_instead_of_running_again_at_once(
    store: Any,
) -> None:
    client = make_client(store, yield_margin=10)

    @client.define_job(id="tight", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> int:
        async def one() -> int:
            return 1

        return int(await io.run_task("one", one))

    run = await client.invoke("tight", None)
    delays = []
    for _ in range(7):
        now = client.clock.time()
        outcome = await client.execute(run.id, deadline=now + 1)  # inside the margin: yields
        assert outcome.status is RunStatus.EXECUTING
        assert outcome.resume_at is not None
        delays.append(round(outcome.resume_at - now))
        client.clock.advance_to(outcome.resume_at)

    assert delays == [1, 2, 4, 8, 16, 30, 30]
    assert (await client.execute(run.id)).status is RunStatus.COMPLETED
