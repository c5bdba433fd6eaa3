"""The resume protocol: one invocation of a run (DESIGN.md, "The resume protocol").

    execute(run_id, deadline)
      1. take the lease ............ one conditional update on the run item
      2. load the history .......... one paginated query of the run's partition
      3. call run(payload, io, ctx)
           run_task(key):  recorded COMPLETED -> its output     (no write)
                           recorded ERRORED   -> TaskFailed     (no write)
                           retry not yet due  -> Suspend(at)
                           deadline too near  -> Suspend(now)   (a yield)
                           canceled, lease lost -> Suspend      (stop, write nothing more)
                           otherwise          -> run fn, one conditional write
      4. Suspend (a BaseException) -> WAITING(resume_at) or EXECUTING(yield)
      5. write the final state fenced on the lease, release it, dispatch "again at T"

A store that fails mid-invocation (after botocore's own retries) never reaches the run
function as an error: the invocation stops, releases the lease if it can, and raises
`StoreError` to its caller; the run resumes later, from its recorded tasks.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from .context import Context, EventInfo, JobInfo, RunInfo
from .errors import DuplicateKeyError, OutputError, RunNotFound, StoreError, Suspend, TaskFailed
from .fetch import FETCH_RECHECK_SECONDS, FetchMessage, fetch, wake
from .gates import QUEUE_POLL_SECONDS, Stop, claim_concurrency_slot, resolve_integrations
from .io import IO, TaskFunction
from .jobs import validation_error
from .lease import DEFAULT_LEASE_SECONDS, LEASE_GRACE_SECONDS, LeaseKeeper
from .models import Outcome, to_datetime
from .retry import RetryPolicy
from .runlog import RunLog
from .serialize import describe_error, dump_json, load_json
from .store.base import History, RunRecord, Store, TaskRecord
from .types import RunStatus, TaskStatus

if TYPE_CHECKING:
    from .client import Client
    from .jobs import Job

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_LEASE_SECONDS", "LEASE_GRACE_SECONDS", "execute", "task_id_for"]

DEFAULT_YIELD_MARGIN_SECONDS = 10.0
"""Stop starting new work this long before the deadline (Lambda's default budget)."""
SHORT_BUDGET_MARGIN_FRACTION = 0.2
"""For short budgets the default margin shrinks to this share of the invocation's budget."""
MAX_LOST_LEASES = 3
"""Invocations killed in a row without a newly completed task before the run is TIMED_OUT."""
STORE_RETRY_SECONDS = 5.0
"""After a store failure, the run is due again this much later."""

T = TypeVar("T")
_parent: ContextVar[tuple[str, str, int] | None] = ContextVar("triggerfish_parent", default=None)
"""The task whose fn is running here: (task id, key, attempt); None at the top level."""


class _StoreAbort(BaseException):
    """Carries a StoreError past user code (which must not see or swallow it)."""

    def __init__(self, error: StoreError) -> None:
        super().__init__(str(error))
        self.error = error


def task_id_for(run_id: str, parent_id: str | None, key: str) -> str:
    """A task's identity: its key under its parent, hashed with the run id."""
    raw = f"{run_id}\x00{parent_id or ''}\x00{key}".encode()
    return hashlib.sha256(raw).hexdigest()[:32]


async def call_store(store: Store, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Calls a store primitive, in a worker thread when the store does network I/O."""
    if store.offload:
        return await asyncio.to_thread(fn, *args, **kwargs)
    return fn(*args, **kwargs)


async def execute(client: Client, run_id: str, deadline: float | None) -> Outcome:
    """One invocation of the resume protocol; see the module docstring."""
    store, clock = client.store, client.clock
    now = clock.time()
    run = await call_store(store, store.get_run, run_id)
    if run is None:
        raise RunNotFound(run_id)
    if run.status.is_final or run_id in client.active_invocations:
        return Outcome(status=run.status)
    if run.status is RunStatus.WAITING and run.resume_at is not None and run.resume_at > now:
        # Woken early (a lost timer, a duplicate message): ask again for the right time.
        if client.dispatcher is not None:
            await client.dispatcher.dispatch(run_id, run.resume_at)
        return Outcome(status=run.status, resume_at=run.resume_at)
    is_lease_expired = run.lease_expires_at is not None and run.lease_expires_at < now
    if run.lease_owner is not None and not is_lease_expired:
        return Outcome(status=run.status)

    # 1. The lease.
    owner = uuid.uuid4().hex
    ends_at = max(deadline, now) if deadline is not None else now + DEFAULT_LEASE_SECONDS
    leased = await call_store(
        store,
        store.acquire_lease,
        run_id,
        owner=owner,
        now=now,
        lease_expires_at=ends_at + LEASE_GRACE_SECONDS,
        expired_owner=run.lease_owner if is_lease_expired else None,
    )
    if leased is None:
        current = await call_store(store, store.get_run, run_id)
        return Outcome(status=current.status if current else run.status)

    # 2. The history.
    try:
        history = await call_store(store, store.load_history, run_id)
    except StoreError:
        await _release_after_store_error(client, leased, owner)
        raise
    invocation = Invocation(client, leased, history, owner=owner, deadline=deadline, now=now)
    client.active_invocations[run_id] = invocation.lease
    try:
        outcome = await invocation.start()
    finally:
        client.active_invocations.pop(run_id, None)
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


async def _release_after_store_error(client: Client, run: RunRecord, owner: str) -> bool:
    """Best effort: give the lease back so the run is due again soon, not at lease expiry."""
    retry_at = client.clock.time() + STORE_RETRY_SECONDS
    changes = {"lease_owner": None, "lease_expires_at": None, "due_at": retry_at,
               "resume_at": retry_at}  # fmt: skip
    try:
        return await call_store(
            client.store, client.store.update_run, run.id, owner=owner, changes=changes
        )
    except StoreError:
        return False


class Invocation:
    """The state of one invocation: the leased run, its history and the clock's budget."""

    def __init__(
        self,
        client: Client,
        run: RunRecord,
        history: History,
        *,
        owner: str,
        deadline: float | None,
        now: float,
    ) -> None:
        self.client = client
        self.store = client.store
        self.clock = client.clock
        self.run = run
        self.history = history
        self.owner = owner
        self.deadline = deadline
        self.margin = client.yield_margin_for(None if deadline is None else deadline - now)
        self.lease = LeaseKeeper(
            client.store, client.clock, run.id, owner=owner,
            expires_at=run.lease_expires_at or now, deadline=deadline,
        )  # fmt: skip
        self.log = RunLog(run.id, history)
        self.executed_count = 0
        self.replayed_count = 0
        self._durations: list[float] = []
        self._keys_seen: set[str] = set()
        self._recorded_parents: set[str] = set()
        self._running: dict[str, TaskRecord] = {}
        self._io_depth: dict[asyncio.Task[Any], int] = {}
        self._suspended: Suspend | None = None
        self._has_ended = False
        self._fetches_sent: list[str] = []
        self._slowest_write = 0.0

    # -- steps 3 to 5 -------------------------------------------------------------------

    async def start(self) -> Outcome:
        """Calls the run function and writes where it ended."""
        try:
            return await self._start()
        except _StoreAbort as abort:
            logger.warning("run %s: store failed mid-invocation: %s", self.run.id, abort.error)
            if await _release_after_store_error(self.client, self.run, self.owner):
                return Outcome(status=self.run.status, resume_at=self.clock.time())
            raise abort.error from None

    async def _start(self) -> Outcome:
        job = self.client.jobs.get(self.run.job_id)
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
            slot = await self._store(claim_concurrency_slot, self.store, job, self.run.id)
            if slot is None:
                poll_at = self.clock.time() + QUEUE_POLL_SECONDS
                return await self._finish(RunStatus.QUEUED, resume_at=poll_at)
            self.run = replace(self.run, slot=slot)
            await self._update_run({"slot": slot})
        ctx = self._context(job)
        integrations = await resolve_integrations(self.client, job, ctx)
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
        except Suspend as suspension:
            await self._settle()
            return await self._suspended_end(self._suspended or suspension)
        except _StoreAbort:
            await self._settle()
            raise
        except Exception as exc:  # noqa: BLE001 - the user's error ends the run FAILED
            await self._settle()
            if self._suspended is not None:  # swallowed (gather(return_exceptions=True))
                return await self._suspended_end(self._suspended)
            return await self._finish(RunStatus.FAILED, error=describe_error(exc))
        finally:
            await self.lease.stop_heartbeat()
        if self._suspended is not None:
            await self._settle()
            return await self._suspended_end(self._suspended)
        try:
            output_json = dump_json(result, key="run output")
        except OutputError as exc:
            return await self._finish(RunStatus.FAILED, error=describe_error(exc))
        return await self._finish(RunStatus.COMPLETED, output_json=output_json)

    def _suspend(self, resume_at: float | None, reason: str) -> Suspend:
        """A Suspend to raise, remembered: user code that swallows it cannot go on working."""
        if self._suspended is None:
            self._suspended = Suspend(resume_at, reason=reason)
        return self._suspended

    @asynccontextmanager
    async def io_call(self) -> AsyncIterator[None]:
        """Every io call runs inside this: after a suspension or the end, nothing new starts,
        and the asyncio task making the call counts as in flight until it returns.
        """
        if self._has_ended:
            raise Suspend(None, reason="ended")
        if self._suspended is not None:
            raise self._suspended
        this = asyncio.current_task()
        if this is not None:
            self._io_depth[this] = self._io_depth.get(this, 0) + 1
        try:
            yield
        finally:
            if this is not None:
                self._io_depth[this] -= 1
                if not self._io_depth[this]:
                    del self._io_depth[this]

    async def _suspended_end(self, suspension: Suspend) -> Outcome:
        if suspension.reason == "wait":
            outcome = await self._finish(RunStatus.WAITING, resume_at=suspension.resume_at)
            return await self._recheck_fetches(outcome)
        return await self._finish(RunStatus.EXECUTING, resume_at=self.clock.time())

    async def _recheck_fetches(self, outcome: Outcome) -> Outcome:
        """A fetch recorded while this invocation was ending must not wait for the recheck.

        The worker's own wake-up may have found the run still leased; now that the lease is
        released, look once more and bring the next invocation forward if a result is in.
        """
        if outcome.status is not RunStatus.WAITING or not self._fetches_sent:
            return outcome
        for task_id in self._fetches_sent:
            current = await self._store(self.store.get_task, self.run.id, task_id)
            if current is not None and (current.status.is_final or not current.in_flight):
                at = self.clock.time() if current.status.is_final else current.resume_at
                await wake(self.client, self.run.id, at or self.clock.time())
                return Outcome(status=outcome.status, resume_at=at)
        return outcome

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

    async def _check_time_limits(self, job: Job) -> dict[str, Any] | None:
        """TIMED_OUT causes: killed invocations without progress, or `max_duration` passed."""
        completed = sum(1 for t in self.history.tasks.values() if t.status.is_final)
        if self.run.lost_leases:
            lost = 0 if completed > self.run.progress_mark else self.run.lost_leases
            if lost >= MAX_LOST_LEASES:
                return {
                    "type": "TimedOut",
                    "message": f"{lost} invocations in a row were killed before their deadline "
                    "without completing a task; a task may take longer than one invocation",
                }
            await self._update_run({"lost_leases": lost, "progress_mark": completed})
        started = self.run.started_at or self.clock.time()
        if job.max_duration is not None and self.clock.time() - started > job.max_duration:
            return {
                "type": "TimedOut",
                "message": f"run exceeded the job's max_duration of {job.max_duration} s",
            }
        return None

    def _context(self, job: Job) -> Context:
        run = self.run
        return Context(
            run=RunInfo(
                id=run.id,
                attempt=run.invocation_count,
                invocation=run.invocation_count,
                started_at=to_datetime(run.started_at),
            ),
            job=JobInfo(id=job.id, version=job.version),
            environment=self.client.environment,
            organization=self.client.organization,
            event=EventInfo(
                id=run.event_id,
                name=run.event_name,
                timestamp=datetime.fromtimestamp(run.event_timestamp or run.created_at, tz=UTC),
            ),
        )

    async def _finish(
        self,
        status: RunStatus,
        *,
        output_json: str | None = None,
        error: dict[str, Any] | None = None,
        resume_at: float | None = None,
    ) -> Outcome:
        """Step 5: flush logs, write the final state fenced on the lease, and dispatch."""
        self._has_ended = True
        await self._flush_logs()
        now = self.clock.time()
        completed = sum(1 for t in self.history.tasks.values() if t.status.is_final)
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
            "progress_mark": completed,
        }
        try:
            is_written = await self._update_run(changes)
        except OutputError as exc:
            status, resume_at = RunStatus.FAILED, None
            changes.update(status=status, output_json=None, error=describe_error(exc),
                           resume_at=None, due_at=None, completed_at=now)  # fmt: skip
            is_written = await self._update_run(changes)
        if not is_written:
            current = await self._store(self.store.get_run, self.run.id)
            logger.warning("run %s: lease lost before the end was written", self.run.id)
            return Outcome(status=current.status if current else status)
        if status.is_final and self.run.slot is not None:
            await self._store(
                self.store.release_concurrency_slot, self.run.job_id, self.run.slot, self.run.id
            )
        if resume_at is not None and self.client.dispatcher is not None:
            await self.client.dispatcher.dispatch(self.run.id, resume_at)
        return Outcome(status=status, resume_at=resume_at)

    # -- io calls -----------------------------------------------------------------------

    def _claim_key(self, key: str) -> tuple[str | None, str]:
        """Registers `key` under the current parent; a reused key is a DuplicateKeyError."""
        if not isinstance(key, str) or not key:
            raise ValueError(f"a task key must be a non-empty string, got {key!r}")
        parent = _parent.get()
        parent_id = parent[0] if parent else None
        task_id = task_id_for(self.run.id, parent_id, key)
        if task_id in self._keys_seen:
            raise DuplicateKeyError(key, parent[1] if parent else None)
        self._keys_seen.add(task_id)
        return parent_id, task_id

    async def _check_budget(self) -> None:
        """Stops (Suspend) when the deadline is too near, the run canceled or the lease lost."""
        now = self.clock.time()
        if self.deadline is not None:
            average = sum(self._durations) / len(self._durations) if self._durations else 0.0
            # The end write must fit too: budget the slowest store write seen so far.
            if self.deadline - now < self.margin + average + self._slowest_write:
                raise self._suspend(now, "yield")
        await self._store(self.lease.check)

    async def run_task(
        self,
        key: str,
        fn: TaskFunction,
        *,
        name: str | None,
        retry: RetryPolicy | None,
        icon: str | None,
        properties: list[dict[str, Any]] | None,
    ) -> Any:
        parent_id, task_id = self._claim_key(key)
        recorded = self.history.tasks.get(task_id)
        if recorded is not None and recorded.status.is_final:
            return self._replay(key, recorded)
        retry_at = recorded.resume_at if recorded is not None else None
        if retry_at is not None and retry_at > self.clock.time():
            raise self._suspend(retry_at, "wait")
        await self._check_budget()
        await self._record_parent_running()

        attempt = _next_attempt(recorded)
        started_at = self.clock.time()
        task = TaskRecord(
            run_id=self.run.id, id=task_id, key=key, status=TaskStatus.RUNNING,
            attempts=attempt, parent_id=parent_id, name=name, icon=icon, properties=properties,
            started_at=recorded.started_at if recorded and recorded.started_at else started_at,
        )  # fmt: skip
        token = _parent.set((task_id, key, attempt))
        self._running[task_id] = task
        try:
            result = fn()
            if inspect.isawaitable(result):
                result = await result
            output_json = dump_json(result, key=key)
        except Exception as exc:  # the task's own failure: retry it or record it for good
            self.executed_count += 1
            error = describe_error(exc)
            logger.info("run %s: task %s attempt %d failed: %s: %s", self.run.id, key,
                        attempt, error["type"], error["message"])  # fmt: skip
            can_retry = not isinstance(exc, OutputError | TaskFailed | DuplicateKeyError)
            if retry is not None and can_retry and retry.has_attempts_left(attempt):
                resume_at = self.clock.time() + retry.delay_seconds(attempt)
                waiting = replace(task, status=TaskStatus.WAITING, error=error, resume_at=resume_at)
                await self._record(waiting)
                raise self._suspend(resume_at, "wait") from None
            failed = replace(
                task, status=TaskStatus.ERRORED, error=error, completed_at=self.clock.time()
            )
            final = await self._record(failed)
            if final.status is TaskStatus.COMPLETED:
                return load_json(final.output_json)
            raise TaskFailed(key, final.error or error) from exc
        finally:
            _parent.reset(token)
            self._running.pop(task_id, None)
        done = replace(
            task, status=TaskStatus.COMPLETED, output_json=output_json,
            completed_at=self.clock.time(),
        )  # fmt: skip
        try:
            final = await self._record(done)
        except OutputError as exc:  # too large for the store: the task fails, naming its key
            failed = replace(task, status=TaskStatus.ERRORED, error=describe_error(exc),
                             completed_at=self.clock.time())  # fmt: skip
            final = await self._record(failed)
        self.executed_count += 1
        if not any(t.parent_id == task_id for t in self.history.tasks.values()):
            self._durations.append(self.clock.time() - started_at)
        if final.status is TaskStatus.ERRORED:
            raise TaskFailed(key, final.error or {})
        return load_json(final.output_json)

    def _replay(self, key: str, recorded: TaskRecord) -> Any:
        """A final record: its output, or the same TaskFailed as when it failed (no write)."""
        self.replayed_count += 1
        if recorded.status is TaskStatus.COMPLETED:
            return load_json(recorded.output_json)
        raise TaskFailed(key, recorded.error or {})

    async def wait(self, key: str, seconds: float | None, *, until: datetime | None) -> None:
        if (seconds is None) == (until is None):
            raise ValueError("io.wait needs exactly one of seconds= or until=")
        if seconds is not None and seconds < 0:
            raise ValueError(f"io.wait seconds must be 0 or more, got {seconds}")
        if until is not None and until.tzinfo is None:
            raise ValueError(f"io.wait until must be an aware datetime, got {until!r}")
        parent_id, task_id = self._claim_key(key)
        recorded = self.history.tasks.get(task_id)
        now = self.clock.time()
        if recorded is not None and recorded.status.is_final:
            self.replayed_count += 1
            return
        if recorded is None:
            await self._record_parent_running()
            resume_at = now + seconds if seconds is not None else until.timestamp()  # type: ignore[union-attr]
            recorded = TaskRecord(
                run_id=self.run.id, id=task_id, key=key, kind="wait", status=TaskStatus.WAITING,
                attempts=1, parent_id=parent_id, started_at=now, resume_at=resume_at,
            )  # fmt: skip
            if resume_at > now:
                await self._record(recorded)
        if recorded.resume_at is not None and recorded.resume_at > now:
            raise self._suspend(recorded.resume_at, "wait")
        await self._record(replace(recorded, status=TaskStatus.COMPLETED, completed_at=now))

    async def background_fetch(self, key: str, message: FetchMessage) -> Any:
        """A fetch done by the dispatcher's worker; inline when there is none (see fetch.py)."""
        send = getattr(self.client.dispatcher, "send_fetch", None)
        if send is None:
            async def request() -> dict[str, Any]:
                return await fetch(message.url, method=message.method,
                                   headers=message.headers, body=message.body)  # fmt: skip

            return await self.run_task(key, request, name=f"{message.method} {message.url}",
                                       retry=message.retry, icon="fetch", properties=None)  # fmt: skip
        parent_id, task_id = self._claim_key(key)
        recorded = self.history.tasks.get(task_id)
        if recorded is not None and recorded.status.is_final:
            return self._replay(key, recorded)
        now = self.clock.time()
        if recorded is not None and recorded.resume_at is not None and recorded.resume_at > now:
            raise self._suspend(recorded.resume_at, "wait")
        await self._check_budget()
        await self._record_parent_running()
        # A request still in flight at its recheck was lost: send the same attempt again.
        is_resend = recorded is not None and recorded.in_flight
        attempt = recorded.attempts if is_resend and recorded else _next_attempt(recorded)
        waiting = TaskRecord(
            run_id=self.run.id, id=task_id, key=key, status=TaskStatus.WAITING, kind="fetch",
            attempts=attempt, parent_id=parent_id, name=f"{message.method} {message.url}",
            icon="fetch", started_at=recorded.started_at if recorded else now,
            error=recorded.error if recorded else None, resume_at=now + FETCH_RECHECK_SECONDS,
            in_flight=True,
        )  # fmt: skip
        final = await self._record(waiting)
        if final.status is TaskStatus.COMPLETED:  # the worker answered meanwhile
            return load_json(final.output_json)
        if final.status.is_final:
            raise TaskFailed(key, final.error or {})
        self._fetches_sent.append(task_id)
        await send(message.model_copy(update={"run_id": self.run.id, "task_id": task_id,
                                              "key": key, "attempt": attempt}))  # fmt: skip
        raise self._suspend(waiting.resume_at, "wait")

    def write_log(self, level: str, message: str, fields: dict[str, Any]) -> None:
        parent = _parent.get()
        scope, task_key = ("run", None) if parent is None else (f"{parent[0]}.{parent[2]}", parent[1])
        self.log.write(level, message, fields, scope=scope, task_key=task_key,
                       now=self.clock.time())  # fmt: skip

    # -- writes -------------------------------------------------------------------------

    async def _store(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A store call whose failure stops the invocation instead of reaching user code."""
        try:
            if inspect.iscoroutinefunction(fn):
                return await fn(*args, **kwargs)
            return await call_store(self.store, fn, *args, **kwargs)
        except StoreError as exc:
            raise _StoreAbort(exc) from exc

    async def _update_run(self, changes: dict[str, Any]) -> bool:
        written: bool = await self._store(
            self.store.update_run, self.run.id, owner=self.owner, changes=changes
        )
        return written

    async def _flush_logs(self) -> None:
        pending = self.log.take()
        if pending:
            await self._store(self.store.put_logs, pending)

    async def _record(self, task: TaskRecord) -> TaskRecord:
        """One conditional write of a task; when another invocation won, its record wins.

        A record that is not final after a lost write means another invocation has taken
        this run over: this one stops rather than go on without the task's output.
        """
        await self._flush_logs()
        started = self.clock.time()
        is_written = await self._store(self.store.put_task, task)
        self._slowest_write = max(self._slowest_write, self.clock.time() - started)
        if is_written:
            self.history.tasks[task.id] = task
            return task
        current: TaskRecord | None = await self._store(self.store.get_task, task.run_id, task.id)
        if current is None or not current.status.is_final:
            logger.warning("run %s: task %s taken over by another invocation", task.run_id, task.key)
            raise self._suspend(None, "lease lost")
        self.history.tasks[task.id] = current
        logger.warning("task %s of run %s was already recorded", task.key, task.run_id)
        return current

    async def _record_parent_running(self) -> None:
        """Writes a RUNNING record for a parent task the first time a child starts."""
        parent = _parent.get()
        if parent is None or parent[0] in self._recorded_parents:
            return
        self._recorded_parents.add(parent[0])
        if parent[0] in self.history.tasks:
            return
        parent_task = self._running.get(parent[0])
        if parent_task is not None:
            await self._record(parent_task)


def _next_attempt(recorded: TaskRecord | None) -> int:
    """A failed attempt waiting for its retry counts; a RUNNING parent re-run does not."""
    if recorded is None:
        return 1
    if recorded.status is TaskStatus.WAITING:
        return recorded.attempts + 1
    return max(recorded.attempts, 1)
