"""The replay check: recorded runs re-executed against the code on disk, executing nothing.

    replay_run(client, run_id) -> ReplayReport(compatible, divergence, ...)

The run function is called in a sandbox: an `Invocation` over an in-memory copy of the
run's history, on a store that only reads, with a clock frozen at the run's last update.
Every io primitive works unchanged: a call at a recorded final key replays its record;
the first call that would do new work (``check_budget``, ``record``, ``suspend``, a store
write) is the *frontier*, where the sandbox stops. A divergence is:

    missing key    a record never called before the recorded end
    new key        a call at an unrecorded key while records are still to be replayed
    changed kind   the call records another kind than the record has (``check_kind``)
    wait order     waits (any kind but "task") called in another order than recorded

Reaching an unrecorded key once every record was replayed is compatible: the code was
safely extended. A primitive takes part in the kind check by claiming with its kind,
``inv.claim(key, kind=...)`` or ``inv.check_kind(claim, kind)`` (records.py's shapes do).
"""

from __future__ import annotations

import asyncio
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from .engine import Claim, Invocation
from .errors import RunNotFound, Suspend
from .outcome import Outcome, new_outcome
from .port import kind_family
from .runtime import Runtime, runtime_of
from .store.base import History, RunRecord, TaskRecord
from .types import RunStatus

if TYPE_CHECKING:
    from collections.abc import Awaitable, Iterator

    from .runtime import HasRuntime
    from .store.base import Store

__all__ = ["ReplayReport", "replay_run", "replay_runs"]

SANDBOX_BUDGET_SECONDS = 10 * 365 * 86400.0
"""The sandbox's deadline is this far away: it never yields, renews or heartbeats."""
READ_PREFIXES = ("get_", "list_", "load_")
"""Store methods the sandbox lets through; every other one is a write, and stops it."""
REPLAY_REASON = "replay"


@dataclass
class ReplayReport:
    """One run replayed: `compatible`, or `divergence` naming the key and how it diverged."""

    run_id: str
    job_id: str
    compatible: bool = True
    divergence: str | None = None
    reason: str | None = None
    """missing_key, new_key, changed_kind, wait_order, job_missing, outcome (None: compatible)."""
    key: str | None = None
    replayed: int = 0
    """Records the new code replayed before it stopped."""
    recorded: int = 0
    """Records the run has (every kind, subtasks included)."""
    stopped_at: str | None = None
    """The key of the first call past the recorded history (None: the run function ended)."""
    extended: bool = False
    """True when the code calls a new key after every record was replayed."""
    status: str | None = None
    """Where the run function ended in the sandbox (None when it stopped at the frontier)."""

    def to_json(self) -> dict[str, Any]:
        """The report as JSON data (the CLI's --json)."""
        return asdict(self)


class _FrozenClock:
    """The time of the run's last recorded change; `sleep` passes none."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)


class _WriteAttempt(BaseException):
    """A store write from code the sandbox does not see as an io call (a BaseException
    so user code cannot swallow it)."""


class ReadOnlyStore:
    """Lets the store's reads through; any write raises `_WriteAttempt` (nothing written)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.offload = store.offload

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._store, name)
        if name.startswith(READ_PREFIXES) or not callable(attribute):
            return attribute

        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise _WriteAttempt(name)

        refuse.__name__ = name
        return refuse


class _Sandbox(Invocation):
    """An invocation that replays records and stops at the first call past them."""

    def __init__(self, runtime: Runtime, run: RunRecord, history: History, now: float) -> None:
        copy = History(tasks=dict(history.tasks), logs=dict(history.logs), pages=history.pages)
        super().__init__(runtime, run, copy, owner="replay",
                         deadline=now + SANDBOX_BUDGET_SECONDS, now=now)  # fmt: skip
        self.recorded = dict(history.tasks)
        self.report = ReplayReport(run_id=run.id, job_id=run.job_id, recorded=len(self.recorded))
        self.claimed: set[str] = set()
        self.entered: set[str] = set()
        """Parents whose fn ran here (a primitive's own `in_task`): their children count."""
        self.last_claim: dict[asyncio.Task[Any] | None, Claim] = {}
        self.last_wait: dict[str | None, TaskRecord] = {}
        self.ended: RunStatus | None = None
        self.error: dict[str, Any] | None = None

    # -- what the sandbox watches -----------------------------------------------------------

    def claim(self, key: str, kind: str | None = None) -> Claim:
        claim = super().claim(key, kind)
        self.last_claim[asyncio.current_task()] = claim
        recorded = claim.recorded
        if recorded is None:
            return claim
        self.claimed.add(claim.task_id)
        if recorded.kind != "task":
            previous = self.last_wait.get(claim.parent_id)
            if previous is not None and _started(recorded) < _started(previous):
                raise self._replay_diverge(
                    "wait_order", key,
                    f"waits in a different order: {key!r} was recorded before "
                    f"{previous.key!r}, the code now calls it after",
                )  # fmt: skip
            self.last_wait[claim.parent_id] = recorded
        return claim

    def check_kind(self, claim: Claim, kind: str) -> None:
        recorded = claim.recorded
        if recorded is not None and kind_family(recorded.kind) != kind_family(kind):
            raise self._replay_diverge(
                "changed_kind", claim.key,
                f"key {claim.key!r} changed kind: recorded as {recorded.kind!r}, "
                f"the code now calls a {kind!r}",
            )  # fmt: skip

    @property
    def replayed(self) -> int:
        return len(self.claimed)

    # -- the frontier: any new work stops the sandbox -------------------------------------

    async def check_budget(self) -> None:
        raise self._frontier()

    def before_work(self, claim: Claim) -> Awaitable[None] | None:
        raise self._frontier()  # before a task's fn runs: new work is where a replay stops

    async def record_parent_running(self) -> None:
        if self.parent() is not None:
            raise self._frontier()

    async def record(self, task: TaskRecord) -> TaskRecord:
        raise self._frontier()

    def record_now(self, task: TaskRecord) -> TaskRecord | Awaitable[TaskRecord]:
        raise self._frontier()

    def suspend(self, resume_at: float | None, reason: str = "wait") -> Suspend:
        return self._frontier()

    async def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().call(fn, *args, **kwargs)
        except _WriteAttempt:
            raise self._frontier() from None

    @contextmanager
    def in_task(self, task: TaskRecord) -> Iterator[None]:
        self.entered.add(task.id)  # a primitive runs a fn here: its children count too
        with super().in_task(task):
            yield

    # -- the end: nothing written ---------------------------------------------------------

    async def write_end(
        self,
        status: RunStatus,
        *,
        output_json: str | None,
        error: dict[str, Any] | None,
        resume_at: float | None,
        idle_yields: int,
        queued_reason: str | None = None,
    ) -> Outcome:
        self.log.take()
        if self.report.stopped_at is None and self.report.reason is None:
            self.ended, self.error = status, error
        return new_outcome(status, resume_at)

    # -- verdicts -------------------------------------------------------------------------

    def _stop(self) -> Suspend:
        return Invocation.suspend(self, None, REPLAY_REASON)

    def _replay_diverge(self, reason: str, key: str | None, text: str) -> Suspend:
        if self.report.reason is None and self.report.stopped_at is None:
            self.report.reason, self.report.key = reason, key
            self.report.divergence = text
            self.report.compatible = False
        return self._stop()

    def _frontier(self) -> Suspend:
        """The first call past the records: compatible unless records are left behind."""
        if self.report.reason is not None or self.report.stopped_at is not None:
            return self._stop()
        claim = self.last_claim.get(asyncio.current_task())
        if claim is None:  # new work before any io call of this task: judge on what is left
            self.report.stopped_at = ""
            return self._judge_left(None)
        self.report.stopped_at = claim.key
        if claim.recorded is None:
            left = self._unreplayed()
            if left:
                first = left[0]
                self.report.stopped_at = None
                return self._replay_diverge(
                    "new_key", claim.key,
                    f"new key {claim.key!r} before the recorded end: the run recorded "
                    f"{first.key!r} ({first.kind}) where the code now calls {claim.key!r}",
                )  # fmt: skip
            self.report.extended = True
            return self._stop()
        return self._judge_left(_started(claim.recorded))

    def _judge_left(self, before: float | None) -> Suspend:
        left = [r for r in self._unreplayed() if before is None or _started(r) < before]
        if left:
            self.report.stopped_at = None
            return self._missing(left[0])
        return self._stop()

    def _missing(self, record: TaskRecord) -> Suspend:
        return self._replay_diverge(
            "missing_key", record.key,
            f"missing key {record.key!r}: recorded ({record.kind}) but never called "
            "before the recorded end",
        )  # fmt: skip

    def _unreplayed(self) -> list[TaskRecord]:
        """Records the code could have called here and did not, oldest first."""
        left = [
            r for r in self.recorded.values()
            if r.id not in self.claimed and (r.parent_id is None or r.parent_id in self.entered)
        ]  # fmt: skip
        return sorted(left, key=lambda r: (_started(r), r.key))

    def conclude(self, recorded_run: RunRecord) -> ReplayReport:
        """The verdict once the run function has returned or stopped."""
        report = self.report
        report.replayed = self.replayed
        if report.reason is not None or report.stopped_at is not None:
            report.stopped_at = report.stopped_at or None
            return report
        report.status = self.ended.value if self.ended else None
        if self.error and self.error.get("type") == "JobNotFound":
            self._replay_diverge("job_missing", None, f"job {recorded_run.job_id!r} is not defined "
                          "in the code on disk")  # fmt: skip
            return report
        if self.ended is RunStatus.INVALID_PAYLOAD and recorded_run.status is not self.ended:
            self._replay_diverge("outcome", None, "the recorded payload is no longer valid for the "
                          f"job's schema: {self.error}")  # fmt: skip
            return report
        left = self._unreplayed()
        if left:
            self._missing(left[0])
            return report
        if self.ended is RunStatus.FAILED and recorded_run.status is not RunStatus.FAILED:
            error = self.error or {}
            self._replay_diverge("outcome", error.get("task"), "the run now fails where it did not: "
                          f"{error.get('type')}: {error.get('message')}")  # fmt: skip
        return report


def _started(record: TaskRecord) -> float:
    return record.started_at if record.started_at is not None else 0.0


async def replay_run(owner: Runtime | HasRuntime, run_id: str) -> ReplayReport:
    """Replays one recorded run against the jobs defined now; writes nothing."""
    runtime = runtime_of(owner)
    run = await runtime.call(runtime.store.get_run, run_id)
    if run is None:
        raise RunNotFound(run_id)
    history = await runtime.call(runtime.store.load_history, run_id)
    now = max([run.updated_at or run.created_at, run.started_at or 0.0]
              + [t.completed_at or t.started_at or 0.0 for t in history.tasks.values()])
    sandbox_runtime = Runtime(
        store=ReadOnlyStore(runtime.store),
        clock=_FrozenClock(now),
        jobs=runtime.jobs,
        environment=runtime.environment,
        organization=runtime.organization,
        yield_margin=0.0,
        connection_key=runtime.connection_key,  # a stored connection is read, never written
    )
    job = runtime.jobs.get(run.job_id)
    # The gates may not write: a slot counts as held, a lost lease as none, the payload and
    # the rate limit's start as recorded.
    leased = replace(
        run,
        status=RunStatus.EXECUTING,
        lost_leases=0,
        flow_ref=None,
        rate_at=now if run.rate_at is None else run.rate_at,
        slot=run.slot if run.slot is not None or job is None or not job.concurrency_limit else 0,
    )
    sandbox = _Sandbox(sandbox_runtime, leased, history, now)
    try:
        await sandbox.start()
    except _WriteAttempt:
        sandbox._frontier()
    except Suspend:  # the frontier reached in a gate (a connection not stored yet)
        pass
    await _settle_orphans()
    return sandbox.conclude(run)


async def _settle_orphans() -> None:
    """Lets io calls left running by a stopped sandbox see the stop (one loop turn)."""
    await asyncio.sleep(0)


async def replay_runs(owner: Runtime | HasRuntime, run_ids: list[str]) -> list[ReplayReport]:
    """`replay_run` for each id, in order."""
    return [await replay_run(owner, run_id) for run_id in run_ids]

