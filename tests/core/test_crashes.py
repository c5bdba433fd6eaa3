"""A timeout is named, a crash is retried with backoff, a crash loop ends FAILED (issue 17).

An invocation "killed" here is one left hanging in its own thread (its task fn blocks that
thread's loop), so it never writes its end: as after a SIGKILL, its lease just expires.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from support.jobs import make_client
from triggerfish.core import IO, Client, Context, RunStatus, invoke_trigger
from triggerfish.core.acquire import lease_check
from triggerfish.core.crashes import MAX_CRASHES, MAX_TIMEOUTS, crash_backoff
from triggerfish.core.lease import LEASE_GRACE_SECONDS
from triggerfish.core.lease_watch import RENEWABLE_LEASE_SECONDS
from triggerfish.core.outcome import Outcome

HUNG_SECONDS = 60.0


class Hangs:
    """Invocations started in threads whose task fn blocks until `release()`."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.released = threading.Event()
        self.threads: list[threading.Thread] = []

    def block(self) -> None:
        self.entered.set()
        self.released.wait(HUNG_SECONDS)

    def execute(self, first: Client, run_id: str, deadline: float) -> Outcome | None:
        """One invocation, by a new process (a client of its own on the same store and
        clock): its outcome, or None when it hangs in the task (a "kill")."""
        client = make_client(first.store, clock=first.clock, yield_margin=first.yield_margin)
        define_hanging_job(client, self)
        self.entered.clear()
        ended = threading.Event()
        outcomes: list[Outcome] = []

        def invoke() -> None:
            outcomes.append(asyncio.run(client.execute(run_id, deadline=deadline)))
            ended.set()

        thread = threading.Thread(target=invoke, daemon=True)
        thread.start()
        self.threads.append(thread)
        while not (self.entered.wait(0.01) or ended.is_set()):
            pass
        return None if self.entered.is_set() else outcomes[0]

    def release(self) -> None:
        self.released.set()
        for thread in self.threads:
            thread.join(HUNG_SECONDS)


@pytest.fixture
def hangs() -> Iterator[Hangs]:
    made = Hangs()
    yield made
    made.release()


def define_hanging_job(client: Client, hangs: Hangs) -> None:
    @client.define_job(id="hangs", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> str:
        await io.run_task("quick", lambda: 1)

        async def slow() -> None:
            hangs.block()  # blocks the loop, as a long sync call inlined there would

        await io.run_task("slow", slow)
        return "done"


async def wait_for_mark(store: Any, run_id: str) -> dict[str, Any]:
    for _ in range(400):
        run = store.get_run(run_id)
        if run.overrun is not None:
            return dict(run.overrun)
        await asyncio.sleep(0.05)
    raise AssertionError("the lease watch never marked the overrun")


async def test_a_task_outrunning_each_invocation_ends_timed_out_naming_it(
    store: Any, hangs: Hangs
) -> None:
    client = make_client(store, yield_margin=0.4)
    define_hanging_job(client, hangs)
    run = await client.invoke("hangs", None)
    marks = []

    for _ in range(3 * MAX_TIMEOUTS):
        outcome = hangs.execute(client, run.id, deadline=client.clock.time() + 1.0)
        if outcome is not None:
            break
        marks.append(await wait_for_mark(store, run.id))
        client.clock.advance(1.0 + LEASE_GRACE_SECONDS + 1)  # the platform killed it then

    assert outcome is not None and outcome.status is RunStatus.TIMED_OUT
    assert {mark["key"] for mark in marks} == {"slow"}
    # The first kill came after "quick" completed (progress): counting starts after it.
    assert len(marks) == MAX_TIMEOUTS + 1
    error = (await client.get_run(run.id)).error
    assert error is not None and error["type"] == "TimedOut"
    assert error["key"] == "slow" and "'slow'" in error["message"]


async def test_crashes_back_off_then_end_failed_as_a_crash_loop_never_timed_out(
    store: Any, hangs: Hangs
) -> None:
    client = make_client(store)
    define_hanging_job(client, hangs)
    run = await client.invoke("hangs", None)
    backoffs: list[float] = []
    kills = 0

    for _ in range(3 * MAX_CRASHES):
        now = client.clock.time()
        outcome = hangs.execute(client, run.id, deadline=now + 900)  # a Lambda-length budget
        if outcome is None:  # the process died in "slow": its short lease expires
            kills += 1
            assert store.get_run(run.id).lease_expires_at <= now + 45 + 1
            client.clock.advance(RENEWABLE_LEASE_SECONDS + LEASE_GRACE_SECONDS + 1)
        elif outcome.status.is_final:
            break
        else:
            assert outcome.resume_at is not None  # backing off: no attempt this time
            backoffs.append(round(outcome.resume_at - now))
            client.clock.advance_to(outcome.resume_at)

    assert outcome is not None and outcome.status is RunStatus.FAILED
    error = (await client.get_run(run.id)).error
    assert error is not None and error["type"] == "CrashLoop"
    assert "crash loop" in error["message"]
    assert kills == MAX_CRASHES + 1  # the first (after "quick" completed) does not count
    assert backoffs == [round(crash_backoff(n)) for n in range(2, MAX_CRASHES)]


class RecordingDispatcher:
    """Records what the engine asks for: resumes and dead-man's checks."""

    def __init__(self) -> None:
        self.resumes: list[tuple[str, float]] = []
        self.checks: list[tuple[str, float]] = []

    async def dispatch(self, run_id: str, at: float) -> None:
        self.resumes.append((run_id, at))

    async def dispatch_check(self, run_id: str, at: float) -> None:
        self.checks.append((run_id, at))


async def test_a_lambda_length_invocation_arms_a_check_at_its_short_leases_expiry(
    store: Any,
) -> None:
    dispatcher = RecordingDispatcher()
    client = make_client(store, dispatcher=dispatcher)

    @client.define_job(id="quick", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> int:
        return int(await io.run_task("one", lambda: 1))

    run = await client.invoke("quick", None)
    now = client.clock.time()
    assert (await client.execute(run.id, deadline=now + 900)).status is RunStatus.COMPLETED

    [(checked, at)] = dispatcher.checks
    assert checked == run.id
    assert now + RENEWABLE_LEASE_SECONDS <= at <= now + RENEWABLE_LEASE_SECONDS + 10
    # The check arriving after the run ended reads it and writes nothing.
    client.clock.advance_to(at)
    before = store.get_run(run.id)
    token = lease_check.set(True)
    try:
        outcome = await client.execute(run.id, deadline=at + 900)
    finally:
        lease_check.reset(token)
    assert outcome.status is RunStatus.COMPLETED
    assert store.get_run(run.id) == before


async def test_a_short_budget_invocation_arms_no_check(store: Any) -> None:
    dispatcher = RecordingDispatcher()
    client = make_client(store, dispatcher=dispatcher)

    @client.define_job(id="quick", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> int:
        return int(await io.run_task("one", lambda: 1))

    run = await client.invoke("quick", None)
    outcome = await client.execute(run.id, deadline=client.clock.time() + 30)
    assert outcome.status is RunStatus.COMPLETED
    assert dispatcher.checks == []


async def test_a_run_found_alive_under_another_short_lease_is_checked_at_its_expiry(
    store: Any,
) -> None:
    dispatcher = RecordingDispatcher()
    client = make_client(store, dispatcher=dispatcher)

    @client.define_job(id="quick", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> int:
        return 1

    run = await client.invoke("quick", None)
    now = client.clock.time()
    assert store.acquire_lease(run.id, owner="elsewhere", now=now, lease_expires_at=now + 45,
                               expired_owner=None)  # fmt: skip

    outcome = await client.execute(run.id, deadline=now + 900)

    assert outcome.status is not RunStatus.COMPLETED and outcome.resume_at is None
    assert dispatcher.checks == [(run.id, now + 45)]


async def test_a_check_landing_where_the_run_is_running_is_armed_again_at_its_expiry(
    store: Any,
) -> None:
    """A worker running several invocations at once (containers of one host, a consumer on
    ECS) may take a run's check while it runs that run: the check must not be dropped, or a
    kill after it would leave the run to the minute ticker."""
    dispatcher = RecordingDispatcher()
    client = make_client(store, dispatcher=dispatcher)
    entered, release = asyncio.Event(), asyncio.Event()

    @client.define_job(id="slow", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> int:
        async def wait() -> int:
            entered.set()
            await release.wait()
            return 1

        return int(await io.run_task("one", wait))

    run = await client.invoke("slow", None)
    now = client.clock.time()
    running = asyncio.create_task(client.execute(run.id, deadline=now + 900))
    await entered.wait()
    leased = store.get_run(run.id)
    token = lease_check.set(True)
    try:
        outcome = await client.execute(run.id, deadline=now + 900)
    finally:
        lease_check.reset(token)

    assert outcome.status is RunStatus.EXECUTING and outcome.resume_at is None
    assert dispatcher.checks[-1] == (run.id, leased.lease_expires_at)
    assert len(dispatcher.checks) == 2  # armed by the invocation, then again by the check
    assert store.get_run(run.id) == leased  # the check wrote nothing
    release.set()
    assert (await running).status is RunStatus.COMPLETED


async def test_a_lease_reaching_the_deadline_is_not_renewed_before_each_later_task(
    store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 60 s invocation renews its 40 s lease once (up to the deadline + grace); after that
    no task start writes a renewal that could not extend it (bench/cost.py's 1.2x floor)."""
    from triggerfish.core import lease_watch

    # The clock skips; the watch thread's renewals run in real time: kept out of the count.
    monkeypatch.setattr(lease_watch, "RENEW_EVERY_SECONDS", 3600.0)
    client = make_client(store)
    clock = client.clock

    @client.define_job(id="steps", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> int:
        for i in range(200):
            await io.run_task(f"s{i}", lambda: clock.advance(0.5))  # 0.5 s of clock each
        return 200

    run = await client.invoke("steps", None)
    outcome = await client.execute(run.id, deadline=clock.time() + 60)

    assert outcome.status is RunStatus.EXECUTING  # yielded before its deadline
    done = await client.get_run(run.id)
    recorded = len(done.tasks)
    assert recorded >= 90
    # A write per task, the lease, one renewal between tasks, the end write (and the overrun
    # mark, should a slow server make the invocation last 59 s of real time); before the
    # fix, a renewal before every task after clock 45 s added ten.
    assert done.usage.store_writes <= recorded + 4
