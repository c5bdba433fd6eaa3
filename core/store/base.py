"""The `Store` protocol, the records it keeps, and the logic both backends share.

Every state change is one conditional write on one item (DESIGN.md, Store):

    create_run      run absent
    acquire_lease   run not final, and lease free (or held by the expired owner we saw)
    lease_run       run not final, lease free, and not WAITING for a later resume_at
    update_run      lease held by the caller, run not final       (the fence)
    cancel_run      run not final
    put_task        task absent, or not final and not a later attempt than ours
    create_event    event absent
    claim_slot      schedule slot not yet claimed
    claim_concurrency_slot   slot free, ours already, or still held by the holder we saw
    release_concurrency_slot slot held by us
    move_hooks_due  run final, its hooks_due_at still the value the caller read
    retry_task      task ERRORED with the attempts we read              (client.retry_run)
    retry_run       run FAILED or TIMED_OUT                             (client.retry_run)
    wake_run        run WAITING or WAITING_ON_CONNECTIONS, not leased, due later than the
                    new time (or not due)
    put_event_wait  wait absent                 (the event-wait index, io.wait_for_event)
    update_event    event in the expected status (delayed events: deliver, cancel)
    create_callback callback absent             (io.wait_for_request)
    put_connection  connection absent, or stored no later than ours  (client.set_connection)
    put_connection_wait  wait absent            (the connection-wait index)
    put_flow        flow state absent, or at the version the caller read   (core/flow*.py)
    set_job_paused  pause flag absent (pause) or present (resume)       (store/fleet.py)
    put_schedule    schedule absent, or at the version the caller read  (store/fleet.py)
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from typing import Any, Protocol, TypeVar

from ..records import Record, record
from ..serialize import nests_deeper
from ..types import RunStatus, TaskStatus
from .fleet import ScheduleRecord

MAX_INLINE_OUTPUT_BYTES = 350 * 1024
"""Largest JSON output kept inside an item; DynamoDB items stop at 400 KB."""
MAX_PAYLOAD_ROOM_BYTES = 256 * 1024
"""The most a payload can take in a run item (the client's payload limit)."""
EVENT_PENDING = "pending"
EVENT_DELIVERING = "delivering"
EVENT_DELIVERED = "delivered"
EVENT_CANCELED = "canceled"
MAX_CURSOR_CHARS = 1024
"""Longest page cursor a store accepts (issued ones are far shorter)."""


@record
class RunRecord(Record):
    """A run as stored; user data (payload, output) is kept as JSON text."""

    id: str
    job_id: str
    status: RunStatus
    created_at: float
    payload_json: str = "null"
    job_version: str | None = None
    output_json: str | None = None
    error: dict[str, Any] | None = None
    event_id: str | None = None
    event_name: str | None = None
    event_timestamp: float | None = None
    environment: str | None = None
    started_at: float | None = None
    completed_at: float | None = None
    updated_at: float | None = None
    resume_at: float | None = None
    due_at: float | None = None
    invocation_count: int = 0
    lease_owner: str | None = None
    lease_expires_at: float | None = None
    lost_leases: int = 0
    progress_mark: int = 0
    slot: int | None = None
    usage: dict[str, Any] | None = None
    """Requests and time used so far, added to by each invocation's end write (core/usage.py)."""
    expires_at: float | None = None
    """When a finished run is deleted (epoch seconds; the DynamoDB TTL attribute)."""
    traceparent: str | None = None
    """The W3C trace context of the span that started the run (core/otel.py), if traced."""
    parent_run_id: str | None = None
    """The run that started this one with io.invoke_and_wait, and its wait task's id."""
    parent_task_id: str | None = None
    callback_url: str | None = None
    """Where the finished run is POSTed (`io.invoke(..., callback_url=)`, core/run_callbacks.py)."""
    hooks_due_at: float | None = None
    """Set while an on_success/on_failure hook (or the callback POST) of a finished run is
    still to be called."""
    retries: int = 0
    """How many times `retry_run` continued this run (`ctx.run.attempt` is this plus one)."""
    idle_yields: int = 0
    """Invocations in a row that yielded before executing a task (their backoff grows)."""
    overrun: dict[str, Any] | None = None
    """The lease watch's mark (core/lease_watch.py): `{"key", "at"}` of the task still
    running just before the invocation's deadline; cleared by the invocation's end."""
    timeouts: int = 0
    """Lost leases in a row, without a newly completed task, that were marked `overrun`."""
    crashes: int = 0
    """Lost leases in a row, without a newly completed task, with no `overrun` mark."""
    priority: int = 0
    """Higher leaves a queue first (`send_event(priority=)`, `invoke(priority=)`)."""
    queue: str | None = None
    """The queue (and concurrency slots) of the run: None is its job's own (core/queues.py)."""
    queued_reason: str | None = None
    """Why a QUEUED run waits: "concurrency", "rate", "debounce", "batch", ... (None else)."""
    flow_ref: str | None = None
    """The flow state a debounced or batched run takes its payload from (core/flow_state.py)."""
    rate_at: float | None = None
    """The start time its job's rate limit gave the run (core/rates.py); None: not asked yet."""
    event_context_json: str | None = None
    """The `context` of the event that started the run (`ctx.event.context`), as JSON text."""

    def with_changes(self, changes: dict[str, Any]) -> RunRecord:
        """A copy with `changes` applied (None clears a field)."""
        return replace(self, **changes)


@record
class TaskRecord(Record):
    """A task or wait as stored, keyed by `id` (hash of run, parent and key)."""

    run_id: str
    id: str
    key: str
    status: TaskStatus
    attempts: int = 0
    parent_id: str | None = None
    name: str | None = None
    kind: str = "task"
    output_json: str | None = None
    error: dict[str, Any] | None = None
    started_at: float | None = None
    completed_at: float | None = None
    resume_at: float | None = None
    icon: str | None = None
    properties: list[dict[str, Any]] | None = None
    in_flight: bool = False
    """A background fetch handed to a worker and not yet answered (not a failed attempt),
    or an `at_most_once` task's attempt that has started and not ended."""
    child_run_id: str | None = None
    """The run an io.invoke_and_wait task started and waits for."""
    attempt_base: int = 0
    """Attempts made before the last `retry_run`: the retry policy counts from here."""


@record
class LogRecord(Record):
    """One `io.logger` line; `key` is deterministic so replays cannot write it twice."""

    run_id: str
    key: str
    level: str
    message: str
    time: float
    fields: dict[str, Any] = field(default_factory=dict)
    task_key: str | None = None


@record
class EventRecord(Record):
    """An event as stored, with the runs it started."""

    id: str
    name: str
    timestamp: float
    payload_json: str = "null"
    run_ids: tuple[str, ...] = ()
    status: str = EVENT_DELIVERED
    """EVENT_PENDING (delayed, not yet delivered), EVENT_DELIVERING, EVENT_DELIVERED or
    EVENT_CANCELED."""
    deliver_at: float | None = None
    """When a delayed event is (or was) due; while pending or delivering it is in the due index."""
    sent_at: float | None = None
    """Store-clock time it was delivered: event waits recorded after this do not match it."""
    priority: int = 0
    """The priority of the runs it starts (`send_event(priority=)`)."""
    context_json: str | None = None
    """The sender's `context` (a JSON object as text), None when it gave none."""

    @property
    def is_due_indexed(self) -> bool:
        """True while the event waits in the due index for its delivery."""
        return self.status in (EVENT_PENDING, EVENT_DELIVERING) and self.deliver_at is not None


@record
class EventWaitRecord(Record):
    """One `io.wait_for_event` in the event-wait index, found by the event's name.

    The sender of a matching event records the wait's task final from these fields.
    """

    name: str
    run_id: str
    task_id: str
    key: str
    created_at: float
    parent_id: str | None = None
    filter_json: str | None = None
    expires_at: float | None = None


@record
class CallbackRecord(Record):
    """One `io.wait_for_request` callback, keyed by the SHA-256 of its secret token."""

    token_hash: str
    run_id: str
    task_id: str
    key: str
    created_at: float
    expires_at: float | None = None
    heartbeat_seconds: float | None = None
    """`heartbeat_timeout=`: each heartbeat POST moves the wait's timeout this far ahead."""


@record
class ConnectionRecord(Record):
    """A stored connection: its credentials sealed (core/sealing.py), never plain text."""

    name: str
    sealed: str
    created_at: float
    updated_at: float


@record
class ConnectionWaitRecord(Record):
    """A run WAITING_ON_CONNECTIONS in the connection-wait index, found by connection name;
    `client.set_connection` wakes every run listed under the name it stores."""

    name: str
    run_id: str
    created_at: float


@record
class FlowRecord(Record):
    """A small JSON document of flow control state (a rate window, a debounce, a batch),
    changed only by compare-and-set on `version` (core/flow_state.py)."""

    name: str
    version: int
    data: dict[str, Any] = field(default_factory=dict)
    writer: str = ""
    """A token unique to the write that made this version: a retried write that finds it
    knows its first try applied."""
    expires_at: float | None = None
    """When the store may forget it (the DynamoDB TTL attribute); None: kept."""


@dataclass
class History:
    """Everything recorded under a run, loaded in one (paginated) query."""

    tasks: dict[str, TaskRecord] = field(default_factory=dict)
    logs: dict[str, LogRecord] = field(default_factory=dict)
    pages: int = 0


class Store(Protocol):
    """Storage primitives of the resume protocol; see the module docstring for conditions.

    Methods are synchronous; `offload` tells the engine to run them in a worker thread
    (network stores) rather than on the event loop (SQLite).
    """

    offload: bool

    def create_run(self, run: RunRecord) -> bool: ...
    def get_run(self, run_id: str) -> RunRecord | None: ...
    def acquire_lease(
        self,
        run_id: str,
        *,
        owner: str,
        now: float,
        lease_expires_at: float,
        expired_owner: str | None,
    ) -> RunRecord | None: ...
    def update_run(self, run_id: str, *, owner: str, changes: dict[str, Any]) -> bool: ...
    def lease_run(
        self, run_id: str, *, owner: str, now: float, lease_expires_at: float
    ) -> RunRecord | None:
        """`acquire_lease` of a free lease, also refused while the run is WAITING with a
        `resume_at` after `now`: the leased run (as `acquire_lease` writes it) or None.

        The engine's first call of an invocation, so the common one is one write, not a read
        and a write; on None it reads the run to find out why (issue 9, cold start).
        """
        ...
    def cancel_run(
        self, run_id: str, *, now: float, expires_at: float | None = None
    ) -> RunRecord | None: ...
    def put_task(self, task: TaskRecord) -> bool: ...
    def get_task(self, run_id: str, task_id: str) -> TaskRecord | None: ...
    def load_history(self, run_id: str) -> History: ...
    def put_logs(self, logs: list[LogRecord]) -> None: ...
    def create_event(self, event: EventRecord) -> bool: ...
    def get_event(self, event_id: str) -> EventRecord | None: ...
    def list_runs(
        self,
        *,
        job_id: str | None,
        status: RunStatus | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[RunRecord], str | None]: ...
    def list_due_runs(self, *, now: float, limit: int) -> list[str]: ...
    def claim_slot(self, schedule_id: str, slot: str, *, expires_at: float) -> bool: ...
    def claim_concurrency_slot(
        self, job_id: str, slot: int, run_id: str, *, previous_holder: str | None
    ) -> bool: ...
    def get_concurrency_holder(self, job_id: str, slot: int) -> str | None: ...
    def release_concurrency_slot(self, job_id: str, slot: int, run_id: str) -> None: ...
    def wake_run(self, run_id: str, *, at: float, now: float | None = None) -> str:
        """Moves a WAITING (or WAITING_ON_CONNECTIONS) run's resume time forward to `at`:
        "woken", "leased" or "unchanged".

        A finished run is "unchanged"; a lease that expired before `now` does not count.
        """
        ...
    def list_queued_runs(self, job_id: str, *, limit: int) -> list[str]:
        """The ids of the QUEUED runs (not yet made due) of a queue, highest priority first,
        then oldest (created) first, at most `limit`. A job's own queue is named by its id;
        other queues (shared limits, concurrency keys, rate limits) by `RunRecord.queue`."""
        ...
    def wake_queued_run(self, run_id: str, *, at: float) -> bool:
        """A QUEUED run made due at `at` (it leaves the queue listing); False if not QUEUED."""
        ...
    def put_event_wait(self, wait: EventWaitRecord) -> bool:
        """Adds a wait to the event-wait index; False when it is already there."""
        ...
    def list_event_waits(self, name: str) -> list[EventWaitRecord]:
        """Every indexed wait on events of this name (all shards)."""
        ...
    def delete_event_wait(self, name: str, run_id: str, task_id: str) -> None:
        """Removes a wait from the index (resolved or timed out); absent is fine."""
        ...
    def list_due_events(self, *, now: float, limit: int) -> list[str]:
        """Ids of delayed events (pending or delivering) due at `now`, soonest first."""
        ...
    def update_event(self, event_id: str, *, expected_status: str, changes: dict[str, Any]) -> bool:
        """Changes `status`, `run_ids`, `deliver_at` or `sent_at` of an event in
        `expected_status`; keeps the due index in step. False when the event is absent or
        in another status."""
        ...
    def create_callback(self, callback: CallbackRecord) -> bool:
        """Stores a callback unless its token hash is taken."""
        ...
    def get_callback(self, token_hash: str) -> CallbackRecord | None: ...
    def put_connection(self, connection: ConnectionRecord) -> bool:
        """Stores a connection unless one with a later `updated_at` is stored; False then."""
        ...
    def get_connection(self, name: str) -> ConnectionRecord | None: ...
    def list_connections(self) -> list[ConnectionRecord]:
        """Every stored connection, by name."""
        ...
    def put_connection_wait(self, wait: ConnectionWaitRecord) -> bool:
        """Adds a run to the connection-wait index; False when it is already there."""
        ...
    def list_connection_waits(self, name: str) -> list[ConnectionWaitRecord]:
        """Every run indexed as waiting on the connection `name` (all shards)."""
        ...
    def delete_connection_wait(self, name: str, run_id: str) -> None:
        """Removes a run from the index (woken, or found the connection); absent is fine."""
        ...
    def get_flow(self, name: str) -> FlowRecord | None:
        """The flow state of this name (consistent read), or None."""
        ...
    def put_flow(self, flow: FlowRecord, *, expected_version: int | None) -> bool:
        """Writes `flow` if the stored one is at `expected_version` (None: absent); else False."""
        ...
    def close(self) -> None: ...
    def purge_expired_runs(self, *, now: float, limit: int) -> list[str]:
        """Deletes up to `limit` finished runs whose `expires_at` passed, with their tasks,
        logs and blobs (retention; the sweeper calls it). Returns the purged run ids."""
    def move_hooks_due(self, run_id: str, *, expected: float, to: float | None) -> bool:
        """A finished run's pending hooks: `hooks_due_at` (and `due_at`) from `expected` to `to`.

        None clears both (the hooks were called). False when another caller moved it first.
        """
        ...

    def retry_task(self, task: TaskRecord, *, failed_attempts: int) -> bool:
        """Replaces an ERRORED task that has `failed_attempts` attempts with `task`."""
        ...
    def retry_run(self, run_id: str, *, now: float) -> RunRecord | None:
        """A FAILED or TIMED_OUT run made PENDING and due `now` (None: not in such a state)."""
        ...
    def set_job_paused(self, job_id: str, *, paused: bool, now: float) -> bool:
        """Pauses (`paused`) or resumes a job; True when this call changed its state."""
        ...
    def get_job_paused_at(self, job_id: str) -> float | None:
        """When the job was paused (epoch seconds), None when it is not paused."""
        ...
    def put_schedule(self, schedule: ScheduleRecord, *, expected_version: int | None) -> bool:
        """Writes a schedule: new (`expected_version` None) or replacing the stored one at
        that version; False when the condition fails."""
        ...
    def get_schedule(self, schedule_id: str) -> ScheduleRecord | None: ...
    def list_schedules(self) -> list[ScheduleRecord]:
        """Every stored schedule, by id."""
        ...
    def delete_schedule(self, schedule_id: str) -> bool:
        """Deletes a schedule; False when there was none."""
        ...


R = TypeVar("R", RunRecord, TaskRecord)

_FIELD_NAMES: dict[type, frozenset[str]] = {
    cls: frozenset(f.name for f in fields(cls)) for cls in (RunRecord, TaskRecord)
}
_STATUS: dict[type, dict[str, Any]] = {
    RunRecord: {s.value: s for s in RunStatus},
    TaskRecord: {s.value: s for s in TaskStatus},
}


def record_from_fields(cls: type[R], values: dict[str, Any]) -> R:
    """A RunRecord or TaskRecord from its stored fields (`values` is taken over, not copied).

    A history load builds one record per task, so a row with exactly the record's fields
    skips the frozen dataclass's `__init__` (one `object.__setattr__` per field, ~10x the
    cost); any other shape (older rows, missing defaults) goes through `__init__`.
    """
    status = values["status"]
    known = _STATUS[cls].get(status)
    values["status"] = known or (RunStatus(status) if cls is RunRecord else TaskStatus(status))
    if values.keys() == _FIELD_NAMES[cls]:
        record = object.__new__(cls)
        slots = record.__dict__  # item by item keeps the compact, key-sharing instance dict
        for name, value in values.items():
            slots[name] = value
        return record
    return cls(**values)


def load_table_definition() -> dict[str, Any]:
    """The one DynamoDB table definition (package data, so it ships in wheels and zips)."""
    text = resources.files(__package__).joinpath("table.json").read_text(encoding="utf-8")
    definition: dict[str, Any] = json.loads(text)
    return definition


PRIORITY_STEP = 10**10
"""A queue's sort number is created_at - priority * PRIORITY_STEP: one priority step is
more than any epoch second, so priority orders first, then age (DynamoDB's runs_due index)."""
MAX_PRIORITY = 10**6
"""Priorities run from -MAX_PRIORITY to MAX_PRIORITY."""


def sort_key(created_at: float, run_id: str) -> str:
    """A string that sorts runs by creation time (fixed-width epoch micros), then id."""
    return f"{int(created_at * 1_000_000):017d}#{run_id}"


def encode_cursor(value: dict[str, Any]) -> str:
    """An opaque, URL-safe page cursor."""
    raw = json.dumps(value, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, fields: dict[str, type | tuple[type, ...]]) -> dict[str, Any]:
    """Reverse of `encode_cursor`; a malformed cursor is a ValueError naming it.

    `fields` is the shape the store issued: exactly these keys, with values of these types.
    """
    if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_CHARS:
        raise ValueError(f"cursor is not one this store issued (at most {MAX_CURSOR_CHARS} "
                         f"characters): {str(cursor)[:100]!r}")  # fmt: skip
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode())
        if nests_deeper(text, 1):
            raise ValueError("nested")
        value = json.loads(text)
    except (ValueError, TypeError, RecursionError) as exc:
        raise ValueError(f"cursor is not one this store issued: {cursor[:100]!r}") from exc
    is_shaped = isinstance(value, dict) and set(value) == set(fields) and all(
        isinstance(value[name], kind) and not isinstance(value[name], bool)
        for name, kind in fields.items()
    )
    if not is_shaped:
        raise ValueError(f"cursor is not one this store issued: {cursor[:100]!r}")
    return dict(value)


def is_task_overwritable(existing: TaskRecord | None, new: TaskRecord) -> bool:
    """The self-guard of `put_task`: never overwrite a final record or a later attempt."""
    if existing is None:
        return True
    return not existing.status.is_final and existing.attempts <= new.attempts


RETRY_RUN_STATUSES = frozenset({RunStatus.FAILED, RunStatus.TIMED_OUT})
"""The run statuses `retry_run` continues from."""


def retried_run_changes(now: float) -> dict[str, Any]:
    """What `retry_run` sets: PENDING, due now, no end, a fresh duration clock and lease count."""
    return {
        "status": RunStatus.PENDING, "error": None, "output_json": None, "completed_at": None,
        "started_at": now, "updated_at": now, "resume_at": now, "due_at": now,
        "lease_owner": None, "lease_expires_at": None, "lost_leases": 0, "progress_mark": 0,
        "slot": None, "expires_at": None,  # live again: no retention clock (nor TTL)
    }  # fmt: skip
