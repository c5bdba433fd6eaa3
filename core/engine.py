"""The resume protocol: one invocation of a run (DESIGN.md, "The resume protocol").

    execute(runtime, run_id, deadline)
      1. take the lease ............ one conditional update on the run item  (core/acquire.py)
      2. load the history .......... one paginated query of the run's partition
      3. pass the gates ............ time limits, flow control (core/flow_gates.py), payload,
                                     a paused job, integrations
      4. call run(payload, io, ctx)  each io primitive (core/io/) plugs in through `Port`
                                     (core/port.py), which `Invocation` implements:
           claim(key) -> recorded final  -> replay it                (no write)
                         retry not yet due -> suspend(at)
                         check_budget(): deadline too near -> Suspend(now) (a yield)
                                         canceled, lease lost -> Suspend (stop, write no more)
                         otherwise         -> do the work, record(): one conditional write
      5. Suspend (a BaseException) -> settle siblings, WAITING(resume_at) or EXECUTING(yield)
      6. end: write the final state fenced on the lease, release it, dispatch "again at T"
                                                                          (core/finish.py)

The engine takes a `Runtime` (core/runtime.py), never the `Client`. A store that fails
mid-invocation (after botocore's own retries) never reaches the run function as an error:
the invocation stops, releases the lease if it can, and raises `StoreError` to its caller;
the run resumes later, from its recorded tasks.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from time import perf_counter
from types import CoroutineType
from typing import Any

from pydantic import ValidationError

from . import flow_gates
from .acquire import load_history, release_after_store_error, take_lease
from .connections import recheck_connection
from .crashes import MAX_CRASHES, MAX_TIMEOUTS, judge_lost_leases
from .errors import (
    DuplicateKeyError,
    NonDeterminismError,
    OutputError,
    StoreError,
    Suspend,
    task_failed,
)
from .finish import MAX_DURATION_REASON, EndWrites
from .gates import (
    Stop,
    max_duration_error,
    resolve_integrations,
    run_context,
)
from .io import IO
from .jobs import validation_error
from .lease import DEFAULT_LEASE_SECONDS, LEASE_GRACE_SECONDS, LeaseKeeper, first_lease_expiry
from .outcome import Outcome, new_outcome
from .pause_flags import is_job_paused
from .port import Claim, EndHook, ParentTask, check_key, kind_family, task_id_for
from .runlog import RunLog
from .runtime import DEFAULT_YIELD_MARGIN_SECONDS, SHORT_BUDGET_MARGIN_FRACTION, Runtime
from .scopes import InTask, IoCall, IoGate, current_parent, traced
from .serdes import Serdes, load_output
from .serialize import describe_error, dump_json, load_json
from .store.base import History, RunRecord, TaskRecord
from .store.calls import StoreAbort, call_now, call_or_abort
from .types import RunStatus, TaskStatus
from .usage import metered

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_LEASE_SECONDS",
    "DEFAULT_YIELD_MARGIN_SECONDS",
    "LEASE_GRACE_SECONDS",
    "MAX_CRASHES",
    "MAX_TIMEOUTS",
    "SHORT_BUDGET_MARGIN_FRACTION",
    "Claim",
    "Invocation",
    "ParentTask",
    "execute",
    "task_id_for",
]


def _is_process_stop(exc: BaseException) -> bool:
    """KeyboardInterrupt, SystemExit, or a cancellation of the invocation itself."""
    if isinstance(exc, KeyboardInterrupt | SystemExit):
        return True
    task = asyncio.current_task()
    return isinstance(exc, asyncio.CancelledError) and task is not None and task.cancelling() > 0


# -- 1 and 2: the lease and the history -----------------------------------------------------


async def execute(runtime: Runtime, run_id: str, deadline: float | None) -> Outcome:
    """One invocation of the resume protocol; see the module docstring."""
    with metered():  # what it sends is counted into the run's usage (core/usage.py)
        return await _execute(runtime, run_id, deadline)


async def _execute(runtime: Runtime, run_id: str, deadline: float | None) -> Outcome:
    now = runtime.clock.time()
    owner = os.urandom(16).hex()  # 32 hex digits like uuid4().hex, ~4x cheaper
    expires_at = first_lease_expiry(now, deadline)
    leased = await take_lease(runtime, run_id, owner, now, expires_at, deadline)
    if isinstance(leased, Outcome):
        return leased
    try:
        history = await load_history(runtime, leased)
    except StoreError:
        await release_after_store_error(runtime, leased, owner)
        raise
    invocation = Invocation(runtime, leased, history, owner=owner, deadline=deadline, now=now)
    runtime.active_invocations[run_id] = invocation.lease
    try:
        outcome = await invocation.start()
    finally:
        runtime.active_invocations.pop(run_id, None)
    if logger.isEnabledFor(logging.INFO):  # else not even the extra dict is built
        logger.info("run %s invocation %d: %s (%d tasks executed, %d replayed)", run_id,
                    leased.invocation_count, outcome.status.value, invocation.executed_count,
                    invocation.replayed_count,
                    extra={"run_id": run_id, "job_id": leased.job_id,
                           "status": outcome.status.value, "invocation": leased.invocation_count})  # fmt: skip
    return outcome


class Invocation(EndWrites):
    """The state of one invocation: the leased run, its history and the clock's budget.

    It implements `Port` (core/port.py), all that io primitives (core/io/) see of it; its
    ends (step 6) are `EndWrites` (core/finish.py).
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
        self.running: dict[str, TaskRecord] = {}
        """The tasks whose fn runs now, by id (the lease watch names one that overruns)."""
        self.lease = LeaseKeeper(
            runtime.store, runtime.clock, run.id, owner=owner, expires_at=run.lease_expires_at
            or now, deadline=deadline, margin=self.margin, running=self.running,
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
        self._gate = IoGate()
        # Bound here: the hot path pays no extra call.
        self.enter_io: Callable[[], object] = self._gate.enter
        self.leave_io: Callable[[Any], None] = self._gate.leave
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
        except StoreAbort as abort:
            logger.warning("run %s: store failed mid-invocation: %s", self.run.id, abort.error)
            if await release_after_store_error(self.runtime, self.run, self.owner):
                return new_outcome(self.run.status, self.clock.time())
            raise abort.error from None

    async def _start(self) -> Outcome:
        job = self.runtime.jobs.get(self.run.job_id)
        if job is None:
            error = {"type": "JobNotFound", "message": f"no job {self.run.job_id!r} is defined"}
            return await self.finish(RunStatus.FAILED, error=error)
        lost = judge_lost_leases(self.run, self._completed, self.clock.time())
        if lost is not None:  # an invocation died: a timeout or a crash (core/crashes.py)
            self.run = self.run.with_changes(lost.changes)
            if lost.status is not None:
                return await self.finish(lost.status, error=lost.error, resume_at=lost.resume_at)
            await self._update_run(lost.changes)
        timed_out = max_duration_error(self.run, job, self.clock.time())
        if timed_out is not None:
            return await self.finish(RunStatus.TIMED_OUT, error=timed_out)
        stopped = await flow_gates.take_payload(self, job)  # debounce, batch
        if stopped is not None:
            return stopped
        try:
            payload = job.parse_payload(load_json(self.run.payload_json))
        except ValidationError as exc:
            return await self.finish(RunStatus.INVALID_PAYLOAD, error=validation_error(exc))
        if await self.call(is_job_paused, self.runtime, job.id):  # waits for resume_job
            if self.run.slot is None:  # in its job's own queue (core/pauses.py)
                self.run = replace(self.run, queue=None)
            return await self.finish(RunStatus.QUEUED, queued_reason="paused")
        stopped = await flow_gates.claim_start(self, job, payload)  # rate limit, a slot
        if stopped is not None:
            return stopped
        ctx = run_context(self.runtime, self.run, job)
        integrations = await self.call(resolve_integrations, self.runtime, job, ctx)
        if isinstance(integrations, Stop):  # a connection set meanwhile wakes it: not polled
            outcome = await self.finish(integrations.status, error=integrations.error)
            if integrations.connection and outcome.status is RunStatus.WAITING_ON_CONNECTIONS:
                connection = integrations.connection
                await self.call(recheck_connection, self.runtime, connection, self.run.id)
            return outcome
        io = IO(self, integrations.clients, auth=integrations.auth)
        current_parent.set(None)
        self.lease.start_heartbeat()
        self._gate.main = asyncio.current_task()
        try:
            result = await job.run(payload, io, ctx)
        except NonDeterminismError:
            await self._settle()
            return await self._diverged_end()
        except Suspend as suspension:
            await self._settle()
            if self._gate.divergence is not None:
                return await self._diverged_end()
            return await self._suspended_end(self._gate.suspended or suspension)
        except StoreAbort:
            await self._settle()
            raise
        except Exception as exc:  # noqa: BLE001 - the user's error ends the run FAILED
            await self._settle()
            if self._gate.divergence is not None:
                return await self._diverged_end()
            if self._gate.suspended is not None:  # swallowed (gather(return_exceptions=True))
                return await self._suspended_end(self._gate.suspended)
            return await self.finish(RunStatus.FAILED, error=describe_error(exc))
        except BaseException as exc:
            # KeyboardInterrupt, SystemExit, a real cancellation: the process is stopping,
            # the run is not at fault; give the lease back and let it resume later.
            if _is_process_stop(exc):
                await release_after_store_error(self.runtime, self.run, self.owner)
                raise
            # GeneratorExit, a CancelledError the user raised, other BaseExceptions: a user error.
            await self._settle()
            return await self.finish(RunStatus.FAILED, error=describe_error(exc))
        finally:
            await self.lease.stop_heartbeat()
        if self._gate.divergence is not None:  # caught by the run function: it still fails
            await self._settle()
            return await self._diverged_end()
        if self._gate.suspended is not None:
            await self._settle()
            return await self._suspended_end(self._gate.suspended)
        try:
            output_json = dump_json(result, key="run output")
        except OutputError as exc:
            return await self.finish(RunStatus.FAILED, error=describe_error(exc))
        return await self.finish(RunStatus.COMPLETED, output_json=output_json)

    async def _settle(self) -> None:
        """Lets io calls still running beside a suspended one (asyncio.gather) record their
        end; those still running at the deadline are cancelled (and run again later)."""
        deadline = self.deadline
        await self._gate.settle(None if deadline is None else deadline - self.clock.time())

    # -- the plug-in surface of io primitives (core/io/) ----------------------------------

    def io_call(self) -> IoCall:
        """The scope of every io call: after a suspension or the end, nothing new starts."""
        return IoCall(self._gate)

    def claim(self, key: str, kind: str | None = None) -> Claim:
        """Registers `key` under the current parent, with its record if any.

        A key used twice in one parent is a DuplicateKeyError; with `kind`, a key recorded
        as another kind is a NonDeterminismError (see `check_kind`).
        """
        if type(key) is not str or not key.isascii() or not key:
            check_key(key)  # raises for what is not a non-empty str of valid text
        parent = current_parent.get()
        parent_id = parent.id if parent else None
        task_id = task_id_for(self.run.id, parent_id, key)
        if task_id in self._keys_seen:
            raise DuplicateKeyError(key, parent.key if parent else None)
        self._keys_seen.add(task_id)
        claim = Claim(self.run.id, key, task_id, parent_id, self.history.tasks.get(task_id))
        if kind is not None and claim.recorded is not None:
            self.check_kind(claim, kind)
        return claim

    def check_kind(self, claim: Claim, kind: str) -> None:
        """The replay guard: a key recorded as another kind fails the run (not retried).

        Raises (and remembers) NonDeterminismError, a BaseException: catching it does not
        let the run go on, since every later io call raises it again and the run ends FAILED.
        """
        recorded = claim.recorded
        if recorded is not None and kind_family(recorded.kind) != kind_family(kind):
            raise self._diverge(NonDeterminismError(claim.key, recorded.kind, kind))

    def _diverge(self, error: NonDeterminismError) -> NonDeterminismError:
        if self._gate.divergence is None:
            self._gate.divergence = error
        return self._gate.divergence

    def replay(self, key: str, recorded: TaskRecord, serdes: Serdes | None = None) -> Any:
        """A final record: its output (a task's decoded by `serdes`), or its TaskFailed again."""
        self.replayed_count += 1
        if self.runtime.tracer is not None:
            self.runtime.tracer.replayed(self, key, recorded)
        if recorded.status is TaskStatus.COMPLETED:
            return load_json(recorded.output_json) if serdes is None else load_output(
                recorded.output_json, serdes)  # fmt: skip
        raise task_failed(key, recorded.error or {})

    def suspend(self, resume_at: float | None, reason: str = "wait") -> Suspend:
        """A Suspend to raise, remembered: user code that swallows it cannot go on working.

        "wait" ends the invocation WAITING until `resume_at` (None: until woken);
        other reasons ("yield", "lease lost", "canceled") end it without waiting.
        """
        if self._gate.suspended is None and self.runtime.tracer is not None:
            self.runtime.tracer.suspended(self, resume_at, reason)
        return self._gate.suspend(resume_at, reason)

    async def check_budget(self) -> None:
        """Before new work: Suspend when the deadline is near, the run canceled or the lease lost."""
        if self._is_lease_check_due():
            await self.call(self.lease.check)

    def _is_lease_check_due(self) -> bool:
        """Raises the yield near the deadline and the stop past the job's max_duration;
        True when the lease has a check to make (a read or a renewal: I/O)."""
        now = self.clock.time()
        if self.deadline is not None:
            average = self._timed_total / self._timed_count if self._timed_count else 0.0
            # The end write must fit too: budget the slowest store write seen so far.
            if self.deadline - now < self.margin + average + self._slowest_write:
                raise self.suspend(now, "yield")
        job = self.runtime.jobs.get(self.run.job_id)
        if job is not None and job.max_duration is not None and max_duration_error(
            self.run, job, now
        ):
            raise self.suspend(None, MAX_DURATION_REASON)
        return self.lease.is_check_due(now)

    def before_work(self, claim: Claim) -> Awaitable[None] | None:
        """`check_budget` then `record_parent_running`, as a coroutine only when either has
        I/O to do: on a task's hot path, no coroutine at all."""
        is_due = self._is_lease_check_due()
        parent_id = claim.parent_id
        if parent_id is not None and parent_id not in self._recorded_parents:
            return self._before_work(is_due)
        return self.call(self.lease.check) if is_due else None

    async def _before_work(self, is_lease_check_due: bool) -> None:
        if is_lease_check_due:
            await self.call(self.lease.check)
        await self.record_parent_running()

    def note_task_time(self, task_id: str, seconds: float) -> None:
        """Counts a leaf task's duration into the average `check_budget` reserves."""
        if task_id not in self._parent_ids:
            self._timed_count += 1
            self._timed_total += seconds

    def parent(self) -> ParentTask | None:
        """The task whose fn is running in this asyncio context, None at the top level."""
        return current_parent.get()

    def in_task(self, task: TaskRecord) -> AbstractContextManager[None]:
        """Runs a task's fn: io calls inside it are its children (see record_parent_running)."""
        in_task = InTask(self.running, task)
        tracer = self.runtime.tracer
        return in_task if tracer is None else traced(in_task, tracer.task(self, task))

    async def record_parent_running(self) -> None:
        """Writes a RUNNING record for a parent task the first time a child starts."""
        parent = current_parent.get()
        if parent is None or parent.id in self._recorded_parents:
            return
        self._recorded_parents.add(parent.id)
        if parent.id in self.history.tasks:
            return
        parent_task = self.running.get(parent.id)
        if parent_task is not None:
            await self.record(parent_task)

    async def record(self, task: TaskRecord) -> TaskRecord:
        """One conditional write of a task; when another invocation won, its record wins.

        A record that is not final after a lost write means another invocation has taken
        this run over: this one stops rather than go on without the task's output.
        """
        if self.log.pending:
            await self._flush_logs()
        final = self.record_now(task)
        return final if isinstance(final, TaskRecord) else await final

    def record_now(self, task: TaskRecord) -> TaskRecord | Awaitable[TaskRecord]:
        """`record(task)` with no coroutine where nothing in it waits (an in-process store's
        write, no logs to flush first: a task's hot path); else what to await for it."""
        if self.log.pending:
            return self.record(task)
        tasks = self.history.tasks
        previous = tasks.get(task.id)
        if previous is not None and kind_family(previous.kind) != kind_family(task.kind):
            raise self._diverge(NonDeterminismError(task.key, previous.kind, task.kind))
        started = perf_counter()  # a duration: the clock's time is for deadlines
        is_written = call_now(self.store, self.store.put_task, task)
        if isinstance(is_written, CoroutineType):
            return self._written_later(task, previous, is_written, started)
        return self._written(task, previous, is_written, started)

    async def _written_later(
        self, task: TaskRecord, previous: TaskRecord | None, call: Awaitable[bool], started: float
    ) -> TaskRecord:
        final = self._written(task, previous, await call, started)
        return final if isinstance(final, TaskRecord) else await final

    def _written(
        self, task: TaskRecord, previous: TaskRecord | None, is_written: bool, started: float
    ) -> TaskRecord | Awaitable[TaskRecord]:
        self._slowest_write = max(self._slowest_write, perf_counter() - started)
        if not is_written:
            return self._lost_write(task)
        if self.runtime.tracer is None and previous is None and task.parent_id is None:
            if task.status.is_final:  # a new leaf task's end: `_remember`, inline
                self._completed += 1
            self.history.tasks[task.id] = task
        else:
            self._remember(task)
        return task

    async def _lost_write(self, task: TaskRecord) -> TaskRecord:
        current: TaskRecord | None = await self.call(self.store.get_task, task.run_id, task.id)
        if current is None or not current.status.is_final:
            logger.warning(
                "run %s: task %s taken over by another invocation", task.run_id, task.key
            )
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
        return await call_or_abort(self.store, fn, *args, **kwargs)

    def store_failed(self, error: StoreError) -> BaseException:
        """What to raise when a store error reaches an io primitive (even from inside a task
        fn that called the client): it stops the invocation, as `call` does, instead of
        being recorded as the task's failure; the run resumes from what was recorded."""
        return StoreAbort(error)

    def write_log(self, level: str, message: str, fields: dict[str, Any]) -> None:
        """Buffers an `io.logger` line, scoped to the task (attempt) it is written in."""
        parent = current_parent.get()
        if self.runtime.tracer is not None:
            self.runtime.tracer.logged(self, level, message)
        scope = "run" if parent is None else f"{parent.id}.{parent.attempt}"
        self.log.write(level, message, fields, scope=scope,
                       task_key=None if parent is None else parent.key,
                       now=self.clock.time())  # fmt: skip
