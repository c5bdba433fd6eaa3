"""Drive a run in tests: repeated invocations, a per-invocation budget, no real waits.

    clock = SkippingClock()
    client = Client("test", store=SQLiteStore(":memory:"), clock=clock)
    report = await drive(client, run.id, budget_seconds=0.5)
    assert report.status is RunStatus.COMPLETED

`drive` skips timers and retry backoffs, but stops where the run waits for an outside
answer (`io.wait_for_request`, `io.wait_for_event`) with nothing left to skip to but that
wait's timeout (DESIGN.md, Testing): the test then answers it, with `answer_request` or
`client.send_event`, and drives on. `skip_timeouts=True` jumps to the timeout instead.
A child run the driven run waits for (`io.invoke_and_wait`) is not an outside answer:
`drive` drives it too, then the parent it wakes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .callbacks import CallbackAnswer, complete_wait
from .clock import SkippingClock
from .errors import ConfigError
from .event_waits import EVENT_WAIT_KIND
from .io.requests import REQUEST_KIND
from .outcome import Outcome
from .serialize import dump_json
from .types import RunStatus

if TYPE_CHECKING:
    from .client import Client
    from .replay import ReplayReport
    from .store.base import TaskRecord

DEFAULT_MAX_INVOCATIONS = 1000
OUTSIDE_WAIT_KINDS = frozenset({REQUEST_KIND, EVENT_WAIT_KIND})
"""Waits only something outside the run can answer: `drive` stops at them."""
MAX_REAL_WAIT_SECONDS = 5.0
"""Without a SkippingClock, drive really sleeps through waits up to this long."""


@dataclass
class InvocationReport:
    """One invocation as `drive` saw it."""

    outcome: Outcome
    started_at: float
    ended_at: float
    deadline: float | None

    @property
    def overran_deadline(self) -> bool:
        """True when the invocation returned after its deadline."""
        return self.deadline is not None and self.ended_at > self.deadline


@dataclass
class DriveReport:
    """Every invocation of a driven run and where it ended."""

    invocations: list[InvocationReport] = field(default_factory=list)
    waiting_for: list[str] = field(default_factory=list)
    """Keys of the outside waits (request, event) `drive` stopped at; empty once final."""
    children: dict[str, DriveReport] = field(default_factory=dict)
    """The child runs (`io.invoke_and_wait`) driven on the way, by run id; where one
    stopped at an outside wait, its keys are in `waiting_for` too."""

    @property
    def status(self) -> RunStatus:
        return self.invocations[-1].outcome.status

    @property
    def suspensions(self) -> int:
        """How many invocations ended WAITING."""
        return sum(1 for i in self.invocations if i.outcome.status is RunStatus.WAITING)

    @property
    def yields(self) -> int:
        """How many invocations ended early to stay inside their deadline."""
        return sum(1 for i in self.invocations if i.outcome.status is RunStatus.EXECUTING)


async def drive(
    client: Client,
    run_id: str,
    *,
    budget_seconds: float | None = None,
    max_invocations: int = DEFAULT_MAX_INVOCATIONS,
    skip_timeouts: bool = False,
) -> DriveReport:
    """Calls `client.execute` until the run is final, or waits for an outside answer (or is
    QUEUED while its job is paused).

    A SkippingClock jumps over timers and retry backoffs. When all that is left to skip to
    is the timeout of an `io.wait_for_request` or `io.wait_for_event`, `drive` returns
    (status WAITING, `report.waiting_for` naming the waits) unless `skip_timeouts`.
    Returns early when the run is WAITING_ON_CONNECTIONS (`client.set_connection` wakes it).
    A child run it waits for (`io.invoke_and_wait`) is driven the same way first
    (`report.children`); the parent stops where a child stops.
    Each invocation gets `budget_seconds` of (clock) time as its deadline. With another
    clock, waits of up to MAX_REAL_WAIT_SECONDS are slept through; longer ones are a
    ConfigError that says to use a SkippingClock.
    """
    if budget_seconds is not None and budget_seconds <= 0:
        raise ConfigError(f"budget_seconds must be more than 0, got {budget_seconds}")
    clock = client.clock
    report = DriveReport()
    for _ in range(max_invocations):
        started = clock.time()
        deadline = None if budget_seconds is None else started + budget_seconds
        outcome = await client.execute(run_id, deadline=deadline)
        report.invocations.append(InvocationReport(outcome, started, clock.time(), deadline))
        if outcome.status.is_final:
            return report
        if outcome.status is RunStatus.WAITING:
            waits, children = await _waiting_on(client, run_id)
            if children:
                for child_id in children:
                    child = await drive(client, child_id, budget_seconds=budget_seconds,
                                        max_invocations=max_invocations,
                                        skip_timeouts=skip_timeouts)  # fmt: skip
                    report.children[child_id] = child
                    if not child.status.is_final:
                        report.waiting_for = child.waiting_for
                        return report
                continue  # the children's ends woke the run: no time to skip
            if waits and not skip_timeouts and _only_timeouts_left(outcome.resume_at, waits):
                report.waiting_for = [wait.key for wait in waits]
                return report
        if outcome.resume_at is None and outcome.status is RunStatus.QUEUED:
            run = await client.get_run(run_id, tasks=False)
            if await client.is_job_paused(run.job_id):
                return report  # queued until client.resume_job(job_id) wakes it
            raise RuntimeError(
                f"run {run_id} is QUEUED behind its job's concurrency_limit: drive the runs "
                "holding the slots first (a freed slot wakes the oldest queued run)"
            )
        if outcome.resume_at is None and outcome.status is RunStatus.WAITING_ON_CONNECTIONS:
            return report  # an outside answer: client.set_connection wakes it
        if outcome.resume_at is None:
            raise RuntimeError(f"run {run_id} is {outcome.status.value} with nothing to resume")
        wait_seconds = outcome.resume_at - clock.time()
        if isinstance(clock, SkippingClock):
            clock.advance_to(outcome.resume_at)
        elif wait_seconds > MAX_REAL_WAIT_SECONDS:
            raise ConfigError(
                f"run {run_id} waits {wait_seconds:.0f} s; give the client a SkippingClock "
                "(Client(..., clock=SkippingClock()), or client.clock = SkippingClock()) so "
                "drive can skip waits"
            )
        elif wait_seconds > 0:
            await asyncio.sleep(wait_seconds)
    raise RuntimeError(f"run {run_id} did not finish in {max_invocations} invocations")


def _only_timeouts_left(resume_at: float | None, waits: list[TaskRecord]) -> bool:
    """True when the run's next wake is an outside wait's timeout (or there is none)."""
    timeouts = [wait.resume_at for wait in waits if wait.resume_at is not None]
    return resume_at is None or (bool(timeouts) and resume_at >= min(timeouts))


async def _waiting_on(client: Client, run_id: str) -> tuple[list[TaskRecord], list[str]]:
    """The run's request and event waits still waiting, and the ids of the child runs it
    waits for that have not ended, each in the order they began."""
    history = await client.runtime.call(client.store.load_history, run_id)
    pending = sorted((task for task in history.tasks.values() if not task.status.is_final),
                     key=lambda task: (task.started_at or 0.0, task.key))  # fmt: skip
    waits = [task for task in pending if task.kind in OUTSIDE_WAIT_KINDS]
    children = []
    for task in pending:
        if task.child_run_id is not None:
            child = await client.runtime.call(client.store.get_run, task.child_run_id)
            if child is not None and not child.status.is_final:
                children.append(child.id)
    return waits, children


async def answer_request(client: Client, run_id: str, key: str, body: Any) -> CallbackAnswer:
    """Answers the run's `io.wait_for_request(key, ...)` with `body`, as the first
    ``POST {callback url}`` with that JSON body would; then `drive` the run on.

    Returns RESUMED, or USED when the wait was already answered (a POST would get 409)
    and EXPIRED past its timeout. A `key` with no request wait waiting, or a body that
    is not JSON, is a ConfigError.
    """
    try:
        body_json = dump_json(body, key="answer_request body")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    history = await client.runtime.call(client.store.load_history, run_id)
    waits = [task for task in history.tasks.values() if task.kind == REQUEST_KIND]
    matching = [task for task in waits if task.key == key]
    if not matching:
        keys = sorted({task.key for task in waits})
        raise ConfigError(
            f"run {run_id} has no io.wait_for_request with key {key!r} (its request waits: "
            f"{keys}); drive the run until it waits first"
        )
    pending = [task for task in matching if not task.status.is_final] or matching
    if len(pending) > 1:
        raise ConfigError(
            f"run {run_id} waits for {len(pending)} requests with key {key!r} (under "
            "different parents); answer them through their callback URLs"
        )
    (wait,) = pending
    return await complete_wait(client.runtime, wait, body_json, expires_at=wait.resume_at)


async def replay(client: Client, run_id: str) -> ReplayReport:
    """Replays a recorded run against the jobs defined now (see core/replay.py); writes nothing.

    ``report.compatible`` is False when the code diverges; ``report.divergence`` names the key.
    """
    from .replay import replay_run

    return await replay_run(client, run_id)
