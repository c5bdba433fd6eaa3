"""Concurrency slots: a WAITING run frees its slot, QUEUED runs wait for a wake-up (oldest
first) instead of polling, and a slow safety sweep catches a lost wake-up."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pytest
from support.jobs import make_client
from triggerfish.core import IO, Client, Context, RunStatus, invoke_trigger
from triggerfish.core.slots import QUEUE_SWEEP_SECONDS

HOUR = 3600.0
TICK_SECONDS = 600.0
"""The simulated sweeper's period (the local server sweeps every second; the count of a
queued run's invocations does not depend on it)."""
BUDGET_SECONDS = 900.0
"""Each simulated invocation's deadline, as a worker's would be."""
WORK_SECONDS = 300.0
"""One "hold" task's length."""


class SimulatedDispatcher:
    """Remembers "run R at T" (the earliest per run); `simulate` plays them on a fake clock."""

    def __init__(self) -> None:
        self.due: dict[str, float] = {}

    async def dispatch(self, run_id: str, at: float) -> None:
        self.due[run_id] = min(at, self.due.get(run_id, math.inf))


async def simulate(client: Client, dispatcher: SimulatedDispatcher, seconds: float) -> Counter[str]:
    """Plays dispatches and sweeper ticks for `seconds` of clock time; counts invocations."""
    clock: Any = client.clock
    until = clock.time() + seconds
    next_tick = clock.time()
    invocations: Counter[str] = Counter()
    while clock.time() < until:
        run_id, at = min(dispatcher.due.items(), key=lambda item: item[1], default=(None, math.inf))
        if next_tick <= at:
            clock.advance_to(next_tick)
            await client.tick()
            next_tick += TICK_SECONDS
            continue
        assert run_id is not None
        del dispatcher.due[run_id]
        clock.advance_to(at)
        invocations[run_id] += 1
        await client.execute(run_id, deadline=clock.time() + BUDGET_SECONDS)
    return invocations


def limited_client(store: Any, started: list[str], **options: Any) -> Client:
    """One job, concurrency_limit=1: "wait" waits an hour, "hold" works (n five-minute tasks), others run once."""
    client = make_client(store, **options)

    @client.define_job(id="limited", trigger=invoke_trigger(), concurrency_limit=1)
    async def job(payload: Any, io: IO, ctx: Context) -> str:
        name = payload["name"]

        async def start() -> None:
            started.append(name)

        await io.run_task("start", start)
        if payload.get("wait"):
            await io.wait("an hour", seconds=HOUR)
        for n in range(payload.get("hold", 0)):
            await io.run_task(f"work-{n}", lambda: client.clock.advance(WORK_SECONDS))  # type: ignore[attr-defined]
        return str(name)

    return client


async def test_a_waiting_run_frees_its_slot_and_takes_one_again_when_it_resumes(
    store: Any,
) -> None:
    started: list[str] = []
    client = limited_client(store, started)
    waiter = await client.invoke("limited", {"name": "waiter", "wait": True})
    other = await client.invoke("limited", {"name": "other"})

    assert (await client.execute(waiter.id)).status is RunStatus.WAITING
    assert (await client.execute(other.id)).status is RunStatus.COMPLETED  # not QUEUED
    client.clock.advance(HOUR)  # type: ignore[attr-defined]
    third = await client.invoke("limited", {"name": "third", "hold": 1})
    assert (await client.execute(waiter.id)).status is RunStatus.COMPLETED

    assert (await client.execute(third.id)).status is RunStatus.COMPLETED
    assert started == ["waiter", "other", "third"]


async def test_a_resuming_run_queues_when_its_slot_was_taken_and_is_woken_when_it_frees(
    store: Any,
) -> None:
    started: list[str] = []
    dispatcher = SimulatedDispatcher()
    client = limited_client(store, started, dispatcher=dispatcher)
    waiter = await client.invoke("limited", {"name": "waiter", "wait": True})
    await simulate(client, dispatcher, 60)  # the waiter waits, its slot free
    holder = await client.invoke("limited", {"name": "holder", "hold": 18})  # 90 minutes

    invocations = await simulate(client, dispatcher, 2 * HOUR)

    assert (await client.get_run(holder.id, tasks=False)).status is RunStatus.COMPLETED
    assert (await client.get_run(waiter.id, tasks=False)).status is RunStatus.COMPLETED
    # woke after its hour, found the slot taken (QUEUED), woken by the holder's end
    assert invocations[waiter.id] == 2


async def test_a_queued_run_is_not_polled_and_queued_runs_start_oldest_first(
    store: Any,
) -> None:
    started: list[str] = []
    dispatcher = SimulatedDispatcher()
    client = limited_client(store, started, dispatcher=dispatcher)
    holder = await client.invoke("limited", {"name": "holder", "hold": 12})  # an hour of work
    dispatcher.due.clear()
    await client.execute(holder.id, deadline=client.clock.time() + BUDGET_SECONDS)
    queued = []
    for n in range(5):
        client.clock.advance(1)  # type: ignore[attr-defined]
        queued.append(await client.invoke("limited", {"name": f"q{n}"}))
    dispatcher.due.clear()
    for run in reversed(queued):  # they enter the queue newest first
        outcome = await client.execute(run.id, deadline=client.clock.time() + BUDGET_SECONDS)
        assert outcome.status is RunStatus.QUEUED
        assert outcome.resume_at is None
    dispatcher.due[holder.id] = client.clock.time()

    invocations = await simulate(client, dispatcher, 2 * HOUR)

    assert started == ["holder", "q0", "q1", "q2", "q3", "q4"]
    for run in queued:
        assert (await client.get_run(run.id, tasks=False)).status is RunStatus.COMPLETED
        assert invocations[run.id] <= 2, invocations  # not one every few seconds (720 an hour)


async def test_the_safety_sweep_wakes_a_queued_run_whose_wake_up_was_lost(store: Any) -> None:
    started: list[str] = []
    dispatcher = SimulatedDispatcher()
    client = limited_client(store, started, dispatcher=dispatcher)
    holder = await client.invoke("limited", {"name": "holder", "hold": 4})
    queued = await client.invoke("limited", {"name": "queued"})
    outcome = await client.execute(holder.id, deadline=client.clock.time() + BUDGET_SECONDS)
    assert outcome.status is RunStatus.EXECUTING  # yielded, still holding its slot
    assert (await client.execute(queued.id)).status is RunStatus.QUEUED
    while not outcome.status.is_final:
        outcome = await client.execute(holder.id, deadline=client.clock.time() + BUDGET_SECONDS)
    dispatcher.due.clear()  # the holder's wake-up of the queued run is lost

    await simulate(client, dispatcher, QUEUE_SWEEP_SECONDS + 2 * TICK_SECONDS)

    assert (await client.get_run(queued.id, tasks=False)).status is RunStatus.COMPLETED


async def test_a_keyed_queue_whose_wake_up_was_lost_waits_for_the_keys_next_run(
    store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from triggerfish.core import slots

    client = make_client(store, dispatcher=(dispatcher := SimulatedDispatcher()))

    @client.define_job(id="per-tenant", trigger=invoke_trigger(), concurrency_limit=1,
                       concurrency_key=lambda payload: payload["tenant"])  # fmt: skip
    async def job(payload: Any, io: IO, ctx: Context) -> str:
        for n in range(payload.get("hold", 0)):
            await io.run_task(f"work-{n}", lambda: client.clock.advance(WORK_SECONDS))  # type: ignore[attr-defined]
        return str(payload["name"])

    holder = await client.invoke("per-tenant", {"tenant": "acme", "name": "holder", "hold": 4})
    queued = await client.invoke("per-tenant", {"tenant": "acme", "name": "queued"})
    outcome = await client.execute(holder.id, deadline=client.clock.time() + BUDGET_SECONDS)
    assert (await client.execute(queued.id)).status is RunStatus.QUEUED

    async def killed(runtime: Any, queue: str, count: int = 1) -> list[str]:
        return []  # the process died between the slot's release and the wake-up's write

    with monkeypatch.context() as patch:
        patch.setattr(slots, "wake_queued", killed)
        while not outcome.status.is_final:
            deadline = client.clock.time() + BUDGET_SECONDS
            outcome = await client.execute(holder.id, deadline=deadline)
    dispatcher.due.clear()

    await simulate(client, dispatcher, QUEUE_SWEEP_SECONDS + 2 * TICK_SECONDS)
    assert (await client.get_run(queued.id, tasks=False)).status is RunStatus.QUEUED  # not swept

    following = await client.invoke("per-tenant", {"tenant": "acme", "name": "following"})
    dispatcher.due.clear()
    assert (await client.execute(following.id)).status is RunStatus.COMPLETED  # the free slot
    assert list(dispatcher.due) == [queued.id]  # its release woke the queue
    await simulate(client, dispatcher, TICK_SECONDS)
    assert (await client.get_run(queued.id, tasks=False)).status is RunStatus.COMPLETED


async def test_canceling_a_slot_holder_wakes_the_oldest_queued_run(store: Any) -> None:
    started: list[str] = []
    dispatcher = SimulatedDispatcher()
    client = limited_client(store, started, dispatcher=dispatcher, yield_margin=10)
    holder = await client.invoke("limited", {"name": "holder", "hold": 1})
    queued = await client.invoke("limited", {"name": "queued"})
    dispatcher.due.clear()
    outcome = await client.execute(holder.id, deadline=client.clock.time() + 1)
    assert outcome.status is RunStatus.EXECUTING  # yielded at once, holding its slot
    assert (await client.execute(queued.id)).status is RunStatus.QUEUED
    dispatcher.due.clear()

    await client.cancel_run(holder.id)

    assert list(dispatcher.due) == [queued.id]


async def test_a_parent_waiting_on_a_child_of_its_own_limited_job_frees_the_slot_for_it(
    store: Any,
) -> None:
    client = make_client(store)

    @client.define_job(id="tree", trigger=invoke_trigger(), concurrency_limit=1)
    async def tree(payload: Any, io: IO, ctx: Context) -> Any:
        if payload["depth"] == 0:
            return "leaf"
        child = await io.invoke_and_wait("child", "tree", {"depth": payload["depth"] - 1})
        return f"parent of {child}"

    parent = await client.invoke("tree", {"depth": 1})
    assert (await client.execute(parent.id)).status is RunStatus.WAITING
    (child,) = [r for r in (await client.list_runs(job_id="tree")).runs if r.id != parent.id]
    assert (await client.execute(child.id)).status is RunStatus.COMPLETED  # not QUEUED
    assert (await client.execute(parent.id)).status is RunStatus.COMPLETED
    assert (await client.get_run(parent.id)).output == "parent of leaf"
