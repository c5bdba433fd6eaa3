"""TIMED_OUT: invocations killed again and again without progress, or a run past max_duration."""

from __future__ import annotations

from typing import Any

from support.jobs import make_client
from triggerfish.core import IO, Context, RunStatus, invoke_trigger
from triggerfish.core.engine import LEASE_GRACE_SECONDS, MAX_LOST_LEASES


async def test_a_task_longer_than_every_invocation_times_out_instead_of_looping(store: Any) -> None:
    client = make_client(store)

    @client.define_job(id="too-long", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> None:
        await io.run_task("quick", lambda: 1)
        await io.run_task("endless", lambda: 2)

    run = await client.invoke("too-long", None)
    for _ in range(MAX_LOST_LEASES + 1):
        # The platform kills each invocation before it can write anything back: simulate it
        # by taking the lease the way an invocation does and never releasing it.
        now = client.clock.time()
        current = store.get_run(run.id)
        expired = current.lease_owner if current.lease_owner else None
        assert store.acquire_lease(run.id, owner=f"killed-{now}", now=now,
                                   lease_expires_at=now + 3, expired_owner=expired)
        client.clock.advance(3 + LEASE_GRACE_SECONDS + 1)

    outcome = await client.execute(run.id)

    assert outcome.status is RunStatus.TIMED_OUT
    error = (await client.get_run(run.id)).error
    assert error is not None and "killed" in error["message"]


async def test_a_killed_invocation_that_made_progress_does_not_count(store: Any) -> None:
    client = make_client(store)

    @client.define_job(id="progress", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> str:
        for n in range(MAX_LOST_LEASES + 2):
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
