"""The resume protocol: one invocation of a run (DESIGN.md, "The resume protocol").

    execute(runtime, run_id, deadline)
      1. take the lease ............ one conditional update on the run item
      2. load the history .......... one paginated query of the run's partition
      3. pass the gates ............ time limits, payload, concurrency slot, integrations
      4. call run(payload, io, ctx)  each io primitive (core/io/) plugs into the Invocation:
           claim(key) -> recorded final  -> replay it                (no write)
                         retry not yet due -> suspend(at)
                         check_budget(): deadline too near -> Suspend(now) (a yield)
                                         canceled, lease lost -> Suspend (stop, write no more)
                         otherwise         -> do the work, record(): one conditional write
      5. Suspend (a BaseException) -> settle siblings, WAITING(resume_at) or EXECUTING(yield)
      6. finish: write the final state fenced on the lease, release it, dispatch "again at T"

The engine takes a `Runtime` (core/runtime.py), never the `Client`. A store that fails
mid-invocation (after botocore's own retries) never reaches the run function as an error:
the invocation stops, releases the lease if it can, and raises `StoreError` to its caller;
the run resumes later, from its recorded tasks.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import math
import os
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import MISSING, replace
from dataclasses import fields as dataclass_fields
from types import TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic import ValidationError

from . import ends
from .errors import (
    DuplicateKeyError,
    NonDeterminismError,
    OutputError,
    RunNotFound,
    StoreError,
    Suspend,
    TaskFailed,
)
from .gates import (
    MAX_LOST_LEASES,
    Stop,
    claim_concurrency_slot,
    lost_leases_error,
    max_duration_error,
    resolve_integrations,
    run_context,
)
from .io import IO
from .jobs import validation_error
from .lease import DEFAULT_LEASE_SECONDS, LEASE_GRACE_SECONDS, LeaseKeeper
from .outcome import Outcome, new_outcome
from .records import Record, record
from .runlog import RunLog
from .runtime import DEFAULT_YIELD_MARGIN_SECONDS, SHORT_BUDGET_MARGIN_FRACTION, Runtime
from .serialize import describe_error, dump_json, load_json
from .slots import recheck_after_queuing, release_slot
from .store.base import History, RunRecord, TaskRecord
from .store.calls import call_store
from .types import RunStatus, TaskStatus
from .usage import cost_of, count_store_call, current_meter, metered

if TYPE_CHECKING:
    from .jobs import Job

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_LEASE_SECONDS",
    "DEFAULT_YIELD_MARGIN_SECONDS",
    "LEASE_GRACE_SECONDS",
    "MAX_LOST_LEASES",
    "SHORT_BUDGET_MARGIN_FRACTION",
    "Claim",
    "Invocation",
    "ParentTask",
    "execute",
    "task_id_for",
]

MAX_DURATION_REASON = "max_duration"
"""The Suspend reason of a run found past its job's max_duration before a new task."""
MAX_IDLE_YIELD_BACKOFF_SECONDS = 30.0
"""Longest delay after a yield that executed no task (n in a row: min(2^n, this) s)."""
STORE_RETRY_SECONDS = 5.0
"""After a store failure, the run is due again this much later."""

EndHook = Callable[[Outcome], Awaitable[Outcome]]
"""Called after an invocation ended WAITING, with the lease released (see `after_wait`)."""


class ParentTask(NamedTuple):
    """The task whose fn is running here."""

    id: str
    key: str
    attempt: int


_parent: ContextVar[ParentTask | None] = ContextVar("triggerfish_parent", default=None)
"""The task whose fn is running in this asyncio context; None at the top level."""


class _StoreAbort(BaseException):
    """Carries a StoreError past user code (which must not see or swallow it)."""

    def __init__(self, error: StoreError) -> None:
        super().__init__(str(error))
        self.error = error


KIND_FAMILIES = {"fetch": "task"}
"""Kinds that replay alike: a fetch runs inline as a task when there is no fetch worker."""


def _is_process_stop(exc: BaseException) -> bool:
    """KeyboardInterrupt, SystemExit, or a cancellation of the invocation itself."""
    if isinstance(exc, KeyboardInterrupt | SystemExit):
        return True
    task = asyncio.current_task()
    return isinstance(exc, asyncio.CancelledError) and task is not None and task.cancelling() > 0


def task_id_for(run_id: str, parent_id: str | None, key: str) -> str:
    """A task's identity: its key under its parent, hashed with the run id."""
    raw = f"{run_id}\x00{parent_id or ''}\x00{key}".encode()
    return hashlib.sha256(raw).hexdigest()[:32]


@record
class Claim(Record):
    """A key claimed by an io call: its task id, its parent and what is recorded under it."""

    run_id: str
    key: str
    task_id: str
    parent_id: str | None
    recorded: TaskRecord | None

    def task(self, **fields: Any) -> TaskRecord:
        """A new record for this key (run, id, key and parent filled in)."""
        if not fields.keys() <= _TASK_FIELDS or not isinstance(fields.get("status"), TaskStatus):
            return TaskRecord(  # raises the usual TypeError naming the field
                run_id=self.run_id, id=self.task_id, key=self.key, parent_id=self.parent_id,
                **fields,
            )  # fmt: skip
        # Every task pays this: the defaults and fields set on a bare instance, as
        # `record_from_fields` does, instead of the frozen __init__'s setattr per field.
        task = object.__new__(TaskRecord)
        values = task.__dict__
        values.update(_TASK_DEFAULTS)
        values.update(run_id=self.run_id, id=self.task_id, key=self.key, parent_id=self.parent_id)
        values.update(fields)
        return task


def _with_changes(run: RunRecord, changes: dict[str, Any]) -> RunRecord:
    """`run.with_changes(changes)` of the end write the store took (its fields all known),
    without `dataclasses.replace`'s frozen __init__ (~8 µs per run)."""
    if not changes.keys() <= _RUN_FIELDS:
        return run.with_changes(changes)  # raises the usual TypeError naming the field
    changed = object.__new__(RunRecord)
    changed.__dict__.update(run.__dict__)
    changed.__dict__.update(changes)
    return changed


_RUN_FIELDS = frozenset(f.name for f in dataclass_fields(RunRecord))
_TASK_DEFAULTS = {
    f.name: f.default for f in dataclass_fields(TaskRecord) if f.default is not MISSING
}
_TASK_FIELDS = frozenset(_TASK_DEFAULTS) - {"run_id", "id", "key", "parent_id"} | {"status"}


# -- 1 and 2: the lease and the history -----------------------------------------------------


async def execute(runtime: Runtime, run_id: str, deadline: float | None) -> Outcome:
    """One invocation of the resume protocol; see the module docstring."""
    with metered():  # what it sends is counted into the run's usage (core/usage.py)
        return await _execute(runtime, run_id, deadline)


async def _execute(runtime: Runtime, run_id: str, deadline: float | None) -> Outcome:
    store, clock = runtime.store, runtime.clock
    now = clock.time()
    owner = os.urandom(16).hex()  # 32 hex digits like uuid4().hex, ~4x cheaper
    ends_at = max(deadline, now) if deadline is not None else now + DEFAULT_LEASE_SECONDS
    lease_expires_at = ends_at + LEASE_GRACE_SECONDS
    # The common case in one conditional write: a live run, due, its lease free. Anything
    # else (refused, or a store without lease_run) reads the run and decides as below.
    lease_run = getattr(store, "lease_run", None)
    leased: RunRecord | None = None
    if lease_run is not None and run_id not in runtime.active_invocations:
        leased = await runtime.call(
            lease_run, run_id, owner=owner, now=now, lease_expires_at=lease_expires_at
        )
    if leased is None:
        answer = await _lease_after_reading(runtime, run_id, owner, now, lease_expires_at)
        if isinstance(answer, Outcome):
            return answer
        leased = answer

    try:
        history = await _load_history(runtime, leased)
    except StoreError:
        await _release_after_store_error(runtime, leased, owner)
        raise
    invocation = Invocation(runtime, leased, history, owner=owner, deadline=deadline, now=now)
    runtime.active_invocations[run_id] = invocation.lease
    try:
        outcome = await invocation.start()
    finally:
        runtime.active_invocations.pop(run_id, None)
    if logger.isEnabledFor(logging.INFO):  # else not even the extra dict is built
        logger.info(
            "run %s invocation %d: %s (%d tasks executed, %d replayed)",
            run_id,
            leased.invocation_count,
            outcome.status.value,
            invocation.executed_count,
            invocation.replayed_count,
            extra={"run_id": run_id, "job_id": leased.job_id, "status": outcome.status.value,
                   "invocation": leased.invocation_count},
        )
    return outcome


async def _lease_after_reading(
    runtime: Runtime, run_id: str, owner: str, now: float, lease_expires_at: float
) -> RunRecord | Outcome:
    """Reads the run, then leases it or answers why not (final, early, leased elsewhere)."""
    store = runtime.store
    run = await runtime.call(store.get_run, run_id)
    if run is None:
        raise RunNotFound(run_id)
    if run.status.is_final and run.hooks_due_at is not None:
        await ends.call_hooks(runtime, run)  # a crash left its end hook uncalled
    if run.status.is_final or run_id in runtime.active_invocations:
        return new_outcome(run.status)
    if run.status is RunStatus.WAITING and run.resume_at is not None and run.resume_at > now:
        # Woken early (a lost timer, a duplicate message): ask again for the right time.
        await runtime.dispatch(run_id, run.resume_at)
        return new_outcome(run.status, run.resume_at)
    is_lease_expired = run.lease_expires_at is not None and run.lease_expires_at < now
    if run.lease_owner is not None and not is_lease_expired:
        return new_outcome(run.status)
    leased: RunRecord | None = await runtime.call(
        store.acquire_lease,
        run_id,
        owner=owner,
        now=now,
        lease_expires_at=lease_expires_at,
        expired_owner=run.lease_owner if is_lease_expired else None,
    )
    if leased is None:
        current = await runtime.call(store.get_run, run_id)
        return new_outcome(current.status if current else run.status)
    return leased


async def _load_history(runtime: Runtime, leased: RunRecord) -> History:
    """The run's recorded tasks and logs; none to read on a run's very first lease.

    Only an invocation writes tasks and logs under a run, and every invocation first takes
    the lease, which counts it: a first lease (never retried) has nothing recorded before it.
    """
    if leased.invocation_count == 1 and leased.retries == 0 and leased.lost_leases == 0:
        return History()
    history: History = await runtime.call(runtime.store.load_history, leased.id)
    return history


async def _release_after_store_error(runtime: Runtime, run: RunRecord, owner: str) -> bool:
    """Best effort: give the lease back so the run is due again soon, not at lease expiry."""
    retry_at = runtime.clock.time() + STORE_RETRY_SECONDS
    changes = {"lease_owner": None, "lease_expires_at": None, "due_at": retry_at,
               "resume_at": retry_at}  # fmt: skip
    try:
        return await runtime.call(runtime.store.update_run, run.id, owner=owner, changes=changes)
    except StoreError:
        return False


class Invocation:
    """The state of one invocation: the leased run, its history and the clock's budget.

    io primitives (core/io/) use only the plug-in surface below: `claim`, `record`,
    `replay`, `suspend`, `check_budget`, `record_parent_running`, `in_task`, `parent`,
    `note_task_time`, `after_wait`, `call`, `io_call`, `write_log` and the attributes
    `runtime`, `run`, `clock`, `store`, `scratch`, `executed_count`, `replayed_count`.
    """

    def __init__(
        self,
        runtime: Runtime,
        run: RunRecord,
        history: History,
        *,
        owner: str,
        deadline: float | None,
        now: float,
    ) -> None:
        self.runtime = runtime
        self.store = runtime.store
        self.clock = runtime.clock
        self.run = run
        self.history = history
        self.owner = owner
        self.deadline = deadline
        self.margin = runtime.yield_margin_for(None if deadline is None else deadline - now)
        self.lease = LeaseKeeper(
            runtime.store, runtime.clock, run.id, owner=owner,
            expires_at=run.lease_expires_at or now, deadline=deadline,
        )  # fmt: skip
        self.log = RunLog(run.id, history, job_id=run.job_id)
        self.executed_count = 0
        self.replayed_count = 0
        self._timed_count = 0
        self._timed_total = 0.0
        self._slowest_write = 0.0
        self._keys_seen: set[str] = set()
        self._recorded_parents: set[str] = set()
        # One pass over the history per invocation; kept current by record() (O(1) per task).
        self._parent_ids = {t.parent_id for t in history.tasks.values() if t.parent_id}
        self._completed = sum(1 for t in history.tasks.values() if t.status.is_final)
        self._running: dict[str, TaskRecord] = {}
        self._io_depth: dict[asyncio.Task[Any], int] = {}
        self._suspended: Suspend | None = None
        self._divergence: NonDeterminismError | None = None
        self._has_ended = False
        self._end_hooks: list[EndHook] = []
        self.scratch: dict[str, Any] = {}
        """Per-invocation state of io primitives, keyed by their module's name."""
        self.frees_slot_while_waiting = False
        """Set by waits on another writer (events, requests): ending WAITING gives the
        concurrency slot back; the run claims one again when it resumes (issue 10)."""

    # -- 3 to 5: the gates, the run function, where it stopped ----------------------------

    async def start(self) -> Outcome:
        """Calls the run function and writes where it ended (in a span when traced)."""
        tracer = self.runtime.tracer
        if tracer is None:
            return await self._start_guarded()
        with tracer.invocation(self):
            outcome = await self._start_guarded()
            tracer.outcome(self, outcome.status.value)
            return outcome

    async def _start_guarded(self) -> Outcome:
        try:
            return await self._start()
        except _StoreAbort as abort:
            logger.warning("run %s: store failed mid-invocation: %s", self.run.id, abort.error)
            if await _release_after_store_error(self.runtime, self.run, self.owner):
                return new_outcome(self.run.status, self.clock.time())
            raise abort.error from None

    async def _start(self) -> Outcome:
        job = self.runtime.jobs.get(self.run.job_id)
        if job is None:
            error = {"type": "JobNotFound", "message": f"no job {self.run.job_id!r} is defined"}
            return await self._finish(RunStatus.FAILED, error=error)
        timed_out = await self._check_time_limits(job)
        if timed_out is not None:
            return await self._finish(RunStatus.TIMED_OUT, error=timed_out)
        try:
            payload = job.parse_payload(load_json(self.run.payload_json))
        except ValidationError as exc:
            return await self._finish(RunStatus.INVALID_PAYLOAD, error=validation_error(exc))
        if job.concurrency_limit is not None and self.run.slot is None:
            slot = await self.call(
                claim_concurrency_slot, self.store, job, self.run.id, self.clock.time()
            )
            if slot is None:  # not polled: a freed slot wakes the oldest queued run
                outcome = await self._finish(RunStatus.QUEUED)
                if outcome.status is RunStatus.QUEUED:
                    await self.call(recheck_after_queuing, self.runtime, job, self.run.id)
                return outcome
            self.run = replace(self.run, slot=slot)
            await self._update_run({"slot": slot})
        ctx = run_context(self.runtime, self.run, job)
        integrations = await resolve_integrations(self.runtime, job, ctx)
        if isinstance(integrations, Stop):
            after = integrations.resume_after_seconds
            retry_at = None if after is None else self.clock.time() + after
            return await self._finish(
                integrations.status, error=integrations.error, resume_at=retry_at
            )
        io = IO(self, integrations.clients, auth=integrations.auth)
        _parent.set(None)
        self.lease.start_heartbeat()
        try:
            result = await job.run(payload, io, ctx)
        except NonDeterminismError:
            await self._settle()
            return await self._diverged_end()
        except Suspend as suspension:
            await self._settle()
            if self._divergence is not None:
                return await self._diverged_end()
            return await self._suspended_end(self._suspended or suspension)
        except _StoreAbort:
            await self._settle()
            raise
        except Exception as exc:  # noqa: BLE001 - the user's error ends the run FAILED
            await self._settle()
            if self._divergence is not None:
                return await self._diverged_end()
            if self._suspended is not None:  # swallowed (gather(return_exceptions=True))
                return await self._suspended_end(self._suspended)
            return await self._finish(RunStatus.FAILED, error=describe_error(exc))
        except BaseException as exc:
            # KeyboardInterrupt, SystemExit, a real cancellation: the process is stopping,
            # the run is not at fault; give the lease back and let it resume later.
            if _is_process_stop(exc):
                await _release_after_store_error(self.runtime, self.run, self.owner)
                raise
            # GeneratorExit, a CancelledError the user raised, other BaseExceptions: a user error.
            await self._settle()
            return await self._finish(RunStatus.FAILED, error=describe_error(exc))
        finally:
            await self.lease.stop_heartbeat()
        if self._divergence is not None:  # caught by the run function: it still fails
            await self._settle()
            return await self._diverged_end()
        if self._suspended is not None:
            await self._settle()
            return await self._suspended_end(self._suspended)
        try:
            output_json = dump_json(result, key="run output")
        except OutputError as exc:
            return await self._finish(RunStatus.FAILED, error=describe_error(exc))
        return await self._finish(RunStatus.COMPLETED, output_json=output_json)

    async def _check_time_limits(self, job: Job) -> dict[str, Any] | None:
        """TIMED_OUT causes: killed invocations without progress, or `max_duration` passed."""
        if self.run.lost_leases:
            lost = 0 if self._completed > self.run.progress_mark else self.run.lost_leases
            if lost >= MAX_LOST_LEASES:
                return lost_leases_error(lost)
            await self._update_run({"lost_leases": lost, "progress_mark": self._completed})
        return max_duration_error(self.run, job, self.clock.time())

    async def _settle(self) -> None:
        """Lets tasks still running beside a suspended one (asyncio.gather) record their end.

        Without a deadline they may take their time; with one, those still running at
        the deadline are cancelled (and, like a crash, run again later).
        """
        current = asyncio.current_task()
        pending = {t for t in self._io_depth if t is not current and not t.done()}
        if not pending:
            return
        timeout = None if self.deadline is None else max(0.0, self.deadline - self.clock.time())
        _, still = await asyncio.wait(pending, timeout=timeout)
        for task in still:
            task.cancel()
        await asyncio.gather(*still, return_exceptions=True)

    async def _yield_end(self) -> Outcome:
        """A yield; one that executed no task backs off (due after min(2^n, 30) s)."""
        now = self.clock.time()
        if self.executed_count:
            return await self._finish(RunStatus.EXECUTING, resume_at=now)
        idle = self.run.idle_yields
        delay = min(2.0**idle, MAX_IDLE_YIELD_BACKOFF_SECONDS)
        return await self._finish(RunStatus.EXECUTING, resume_at=now + delay, idle_yields=idle + 1)

    async def _diverged_end(self) -> Outcome:
        """The history no longer matches the code: FAILED, naming the key (not retried)."""
        assert self._divergence is not None
        logger.warning("run %s: %s", self.run.id, self._divergence)
        return await self._finish(RunStatus.FAILED, error=describe_error(self._divergence))

    async def _suspended_end(self, suspension: Suspend) -> Outcome:
        if suspension.reason == MAX_DURATION_REASON:
            job = self.runtime.jobs.get(self.run.job_id)
            error = None if job is None else max_duration_error(self.run, job, self.clock.time())
            return await self._finish(RunStatus.TIMED_OUT, error=error)
        if suspension.reason == "yield":
            return await self._yield_end()
        if suspension.reason != "wait":
            return await self._finish(RunStatus.EXECUTING, resume_at=self.clock.time())
        outcome = await self._finish(RunStatus.WAITING, resume_at=suspension.resume_at)
        for hook in self._end_hooks:
            if outcome.status is RunStatus.WAITING:
                outcome = await hook(outcome)
        return outcome

    # -- 6: the end ------------------------------------------------------------------------

    async def _finish(
        self,
        status: RunStatus,
        *,
        output_json: str | None = None,
        error: dict[str, Any] | None = None,
        resume_at: float | None = None,
        idle_yields: int = 0,
    ) -> Outcome:
        """Flush logs, write the final state fenced on the lease, and dispatch."""
        self._has_ended = True
        await self._flush_logs()
        now = self.clock.time()
        changes: dict[str, Any] = {
            "status": status,
            "output_json": output_json,
            "error": error,
            "resume_at": resume_at,
            "due_at": None if status.is_final else resume_at,
            "completed_at": now if status.is_final else None,
            "updated_at": now,
            "lease_owner": None,
            "lease_expires_at": None,
            "lost_leases": 0,
            "progress_mark": self._completed,
            "idle_yields": idle_yields,
            **ends.end_changes(self.runtime, self.run, status, now),
        }
        changes.update(self._usage_changes(resume_at))
        if status.is_final:
            changes["expires_at"] = self._expires_at(now)
        # Every wait frees the slot (frees_slot_while_waiting is implied); a yield keeps it.
        frees_slot = self.run.slot is not None and status is not RunStatus.EXECUTING
        if frees_slot and not status.is_final:
            changes["slot"] = None  # a waiting run holds no slot; it claims one on resume
        if status is RunStatus.QUEUED and not self.history.tasks:
            changes["started_at"] = None  # not started yet: max_duration counts from the start
        try:
            is_written = await self._update_run(changes)
        except OutputError as exc:
            status, resume_at = RunStatus.FAILED, None
            changes.update(status=status, output_json=None, error=describe_error(exc),
                           resume_at=None, due_at=None, completed_at=now, hooks_due_at=None,
                           **ends.end_changes(self.runtime, self.run, status, now))  # fmt: skip
            is_written = await self._update_run(changes)
        if not is_written:
            current = await self.call(self.store.get_run, self.run.id)
            if current is not None and current.status.is_final:  # canceled meanwhile: expected
                logger.info("run %s: %s meanwhile; its end was not written", self.run.id,
                            current.status.value)  # fmt: skip
            else:
                logger.warning("run %s: lease lost before the end was written", self.run.id)
            return new_outcome(current.status if current else status)
        if frees_slot and self.run.slot is not None:
            await self.call(release_slot, self.runtime, self.run.job_id, self.run.slot, self.run.id)
        if resume_at is not None:
            await self.runtime.dispatch(self.run.id, resume_at)
        if status.is_final:
            await ends.run_ended(self.runtime, _with_changes(self.run, changes))
        return new_outcome(status, resume_at)

    def _expires_at(self, now: float) -> float | None:
        """When this finished run is deleted: the job's retention, else the client's."""
        job = self.runtime.jobs.get(self.run.job_id)
        seconds = job.retention if job is not None and job.retention is not None else (
            self.runtime.retention_seconds
        )
        return None if seconds is None or seconds == math.inf else now + seconds

    def _usage_changes(self, resume_at: float | None) -> dict[str, Any]:
        """The run's usage with this invocation added, counting the end write itself and
        the dispatch message sent right after it (both go out after this snapshot)."""
        meter = current_meter()
        if meter is None:
            return {}
        dispatcher = self.runtime.dispatcher
        messages = 1 if resume_at is not None and getattr(dispatcher, "counts_messages", False) else 0
        usage = meter.totals(self.run.usage, store_writes=1, queue_messages=messages)
        cost = cost_of(usage, self.runtime.prices)  # plain dicts: no pydantic model built
        return {"usage": {**usage, "cost_usd": round(cost, 9)}}

    async def _update_run(self, changes: dict[str, Any]) -> bool:
        written: bool = await self.call(
            self.store.update_run, self.run.id, owner=self.owner, changes=changes
        )
        return written

    async def _flush_logs(self) -> None:
        pending = self.log.take()
        if pending:
            await self.call(self.store.put_logs, pending)

    # -- the plug-in surface of io primitives (core/io/) ----------------------------------

    def io_call(self) -> _IoCall:
        """Every io call runs inside this: after a suspension or the end, nothing new starts,
        and the asyncio task making the call counts as in flight until it returns.
        """
        return _IoCall(self)

    def claim(self, key: str, kind: str | None = None) -> Claim:
        """Registers `key` under the current parent, with its record if any.

        A key used twice in one parent is a DuplicateKeyError; with `kind`, a key recorded
        as another kind is a NonDeterminismError (see `check_kind`).
        """
        if not isinstance(key, str) or not key:
            raise ValueError(f"a task key must be a non-empty string, got {key!r}")
        if not key.isascii():
            try:
                key.encode()
            except UnicodeEncodeError:
                raise ValueError(f"a task key must be valid Unicode text, got {key!r}") from None
        parent = _parent.get()
        parent_id = parent.id if parent else None
        task_id = task_id_for(self.run.id, parent_id, key)
        if task_id in self._keys_seen:
            raise DuplicateKeyError(key, parent.key if parent else None)
        self._keys_seen.add(task_id)
        claim = Claim(self.run.id, key, task_id, parent_id, self.history.tasks.get(task_id))
        if kind is not None:
            self.check_kind(claim, kind)
        return claim

    def check_kind(self, claim: Claim, kind: str) -> None:
        """The replay guard: a key recorded as another kind fails the run (not retried).

        Raises (and remembers) NonDeterminismError, a BaseException: catching it does not
        let the run go on, since every later io call raises it again and the run ends FAILED.
        """
        recorded = claim.recorded
        if recorded is not None and _family(recorded.kind) != _family(kind):
            raise self._diverge(NonDeterminismError(claim.key, recorded.kind, kind))

    def _diverge(self, error: NonDeterminismError) -> NonDeterminismError:
        if self._divergence is None:
            self._divergence = error
        return self._divergence

    def replay(self, key: str, recorded: TaskRecord) -> Any:
        """A final record: its output, or the same TaskFailed as when it failed (no write)."""
        self.replayed_count += 1
        if self.runtime.tracer is not None:
            self.runtime.tracer.replayed(self, key, recorded)
        if recorded.status is TaskStatus.COMPLETED:
            return load_json(recorded.output_json)
        raise TaskFailed(key, recorded.error or {})

    def suspend(self, resume_at: float | None, reason: str = "wait") -> Suspend:
        """A Suspend to raise, remembered: user code that swallows it cannot go on working.

        "wait" ends the invocation WAITING until `resume_at` (None: until woken);
        other reasons ("yield", "lease lost", "canceled") end it without waiting.
        """
        if self._suspended is None:
            self._suspended = Suspend(resume_at, reason=reason)
            if self.runtime.tracer is not None:
                self.runtime.tracer.suspended(self, resume_at, reason)
        return self._suspended

    async def check_budget(self) -> None:
        """Before new work: Suspend when the deadline is near, the run canceled or the lease lost."""
        now = self.clock.time()
        if self.deadline is not None:
            average = self._timed_total / self._timed_count if self._timed_count else 0.0
            # The end write must fit too: budget the slowest store write seen so far.
            if self.deadline - now < self.margin + average + self._slowest_write:
                raise self.suspend(now, "yield")
        job = self.runtime.jobs.get(self.run.job_id)
        if job is not None and max_duration_error(self.run, job, now) is not None:
            raise self.suspend(None, MAX_DURATION_REASON)
        if self.lease.is_check_due(now):
            await self.call(self.lease.check)

    def note_task_time(self, task_id: str, seconds: float) -> None:
        """Counts a leaf task's duration into the average `check_budget` reserves."""
        if task_id not in self._parent_ids:
            self._timed_count += 1
            self._timed_total += seconds

    def parent(self) -> ParentTask | None:
        """The task whose fn is running in this asyncio context, None at the top level."""
        return _parent.get()

    def in_task(self, task: TaskRecord) -> AbstractContextManager[None]:
        """Runs a task's fn: io calls inside it are its children (see record_parent_running)."""
        in_task = _InTask(self._running, task)
        tracer = self.runtime.tracer
        return in_task if tracer is None else _traced(in_task, tracer.task(self, task))

    async def record_parent_running(self) -> None:
        """Writes a RUNNING record for a parent task the first time a child starts."""
        parent = _parent.get()
        if parent is None or parent.id in self._recorded_parents:
            return
        self._recorded_parents.add(parent.id)
        if parent.id in self.history.tasks:
            return
        parent_task = self._running.get(parent.id)
        if parent_task is not None:
            await self.record(parent_task)

    async def record(self, task: TaskRecord) -> TaskRecord:
        """One conditional write of a task; when another invocation won, its record wins.

        A record that is not final after a lost write means another invocation has taken
        this run over: this one stops rather than go on without the task's output.
        """
        previous = self.history.tasks.get(task.id)
        if previous is not None and _family(previous.kind) != _family(task.kind):
            raise self._diverge(NonDeterminismError(task.key, previous.kind, task.kind))
        await self._flush_logs()
        started = self.clock.time()
        is_written = await self.call(self.store.put_task, task)
        self._slowest_write = max(self._slowest_write, self.clock.time() - started)
        if is_written:
            self._remember(task)
            return task
        current: TaskRecord | None = await self.call(self.store.get_task, task.run_id, task.id)
        if current is None or not current.status.is_final:
            logger.warning("run %s: task %s taken over by another invocation", task.run_id, task.key)
            raise self.suspend(None, "lease lost")
        self._remember(current)
        logger.warning("task %s of run %s was already recorded", task.key, task.run_id)
        return current

    def _remember(self, task: TaskRecord) -> None:
        if self.runtime.tracer is not None:
            self.runtime.tracer.recorded(self, task)
        previous = self.history.tasks.get(task.id)
        if task.status.is_final and (previous is None or not previous.status.is_final):
            self._completed += 1
        if task.parent_id:
            self._parent_ids.add(task.parent_id)
        self.history.tasks[task.id] = task

    def after_wait(self, hook: EndHook) -> None:
        """Calls `hook(outcome)` once this invocation has ended WAITING and let go of the lease."""
        if hook not in self._end_hooks:
            self._end_hooks.append(hook)

    async def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A store call whose failure stops the invocation instead of reaching user code."""
        try:
            if not self.store.offload:  # in-process store: no thread, no introspection
                result = fn(*args, **kwargs)
                if inspect.iscoroutine(result):
                    return await result
                count_store_call(getattr(fn, "__name__", ""))  # usage (call_store's count)
                return result
            if inspect.iscoroutinefunction(fn):
                return await fn(*args, **kwargs)
            return await call_store(self.store, fn, *args, **kwargs)
        except StoreError as exc:
            raise _StoreAbort(exc) from exc

    def store_failed(self, error: StoreError) -> BaseException:
        """What to raise when a store error reaches an io primitive (even from inside a task
        fn that called the client): it stops the invocation, as `call` does, instead of
        being recorded as the task's failure; the run resumes from what was recorded."""
        return _StoreAbort(error)

    def write_log(self, level: str, message: str, fields: dict[str, Any]) -> None:
        """Buffers an `io.logger` line, scoped to the task (attempt) it is written in."""
        parent = _parent.get()
        if self.runtime.tracer is not None:
            self.runtime.tracer.logged(self, level, message)
        scope = "run" if parent is None else f"{parent.id}.{parent.attempt}"
        self.log.write(level, message, fields, scope=scope,
                       task_key=None if parent is None else parent.key,
                       now=self.clock.time())  # fmt: skip


def _family(kind: str) -> str:
    return KIND_FAMILIES.get(kind, kind)


class _IoCall:
    """`Invocation.io_call()`: a plain async context manager (an `@asynccontextmanager`
    costs a generator and ~3 µs per io call, on every task)."""

    __slots__ = ("_invocation", "_task")

    def __init__(self, invocation: Invocation) -> None:
        self._invocation = invocation
        self._task: asyncio.Task[Any] | None = None

    async def __aenter__(self) -> None:
        inv = self._invocation
        if inv._has_ended:
            raise Suspend(None, reason="ended")
        if inv._divergence is not None:
            raise inv._divergence
        if inv._suspended is not None:
            raise inv._suspended
        this = self._task = asyncio.current_task()
        if this is not None:
            depth = inv._io_depth
            depth[this] = depth.get(this, 0) + 1

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        this = self._task
        if this is not None:
            depth = self._invocation._io_depth
            depth[this] -= 1
            if not depth[this]:
                del depth[this]


@contextmanager
def _traced(in_task: _InTask, span: AbstractContextManager[None]) -> Iterator[None]:
    """`in_task` with the task's span current inside (core/otel.py)."""
    with in_task, span:
        yield


class _InTask:
    """`Invocation.in_task(task)`: sets the parent of the io calls made inside (a class, not
    `@contextmanager`: entered once per task)."""

    __slots__ = ("_running", "_task", "_token")

    def __init__(self, running: dict[str, TaskRecord], task: TaskRecord) -> None:
        self._running = running
        self._task = task

    def __enter__(self) -> None:
        task = self._task
        self._token = _parent.set(ParentTask(task.id, task.key, task.attempts))
        self._running[task.id] = task

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _parent.reset(self._token)
        self._running.pop(self._task.id, None)
