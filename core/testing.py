"""Drive a run to its end in tests: repeated invocations, a per-invocation budget, no real waits.

    clock = SkippingClock()
    client = Client("test", store=SQLiteStore(":memory:"), clock=clock)
    report = await drive(client, run.id, budget_seconds=0.5)
    assert report.status is RunStatus.COMPLETED
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .clock import SkippingClock
from .errors import ConfigError
from .outcome import Outcome
from .types import RunStatus

if TYPE_CHECKING:
    from .client import Client
    from .replay import ReplayReport

DEFAULT_MAX_INVOCATIONS = 1000
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
) -> DriveReport:
    """Calls `client.execute` until the run is final; a SkippingClock jumps over waits.

    Returns early when the run is WAITING_ON_CONNECTIONS (`client.set_connection` wakes it).
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
        if outcome.resume_at is None and outcome.status is RunStatus.QUEUED:
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


async def replay(client: Client, run_id: str) -> ReplayReport:
    """Replays a recorded run against the jobs defined now (see core/replay.py); writes nothing.

    ``report.compatible`` is False when the code diverges; ``report.divergence`` names the key.
    """
    from .replay import replay_run

    return await replay_run(client, run_id)
