"""The `Store` protocol, the records it keeps, and the logic both backends share.

Every state change is one conditional write on one item (DESIGN.md, Store):

    create_run      run absent
    acquire_lease   run not final, and lease free (or held by the expired owner we saw)
    update_run      lease held by the caller, run not final       (the fence)
    cancel_run      run not final
    put_task        task absent, or not final and not a later attempt than ours
    create_event    event absent
    claim_slot      schedule slot not yet claimed
    claim_concurrency_slot   slot free, ours already, or still held by the holder we saw
    release_concurrency_slot slot held by us
    wake_run        run WAITING, not leased, due later than the new time
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from typing import Any, Protocol, TypeVar

from ..types import RunStatus, TaskStatus

MAX_INLINE_OUTPUT_BYTES = 350 * 1024
"""Largest JSON output kept inside an item; DynamoDB items stop at 400 KB."""
MAX_PAYLOAD_ROOM_BYTES = 256 * 1024
"""The most a payload can take in a run item (the client's payload limit)."""
MAX_CURSOR_CHARS = 1024
"""Longest page cursor a store accepts (issued ones are far shorter)."""


@dataclass(frozen=True)
class RunRecord:
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

    def with_changes(self, changes: dict[str, Any]) -> RunRecord:
        """A copy with `changes` applied (None clears a field)."""
        return replace(self, **changes)


@dataclass(frozen=True)
class TaskRecord:
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
    """A background fetch handed to a worker and not yet answered (not a failed attempt)."""


@dataclass(frozen=True)
class LogRecord:
    """One `io.logger` line; `key` is deterministic so replays cannot write it twice."""

    run_id: str
    key: str
    level: str
    message: str
    time: float
    fields: dict[str, Any] = field(default_factory=dict)
    task_key: str | None = None


@dataclass(frozen=True)
class EventRecord:
    """An event as stored, with the runs it started."""

    id: str
    name: str
    timestamp: float
    payload_json: str = "null"
    run_ids: tuple[str, ...] = ()


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
        """Moves a WAITING run's resume time forward to `at`: "woken", "leased" or "unchanged".

        A finished run is "unchanged"; a lease that expired before `now` does not count.
        """
        ...
    def close(self) -> None: ...
    def purge_expired_runs(self, *, now: float, limit: int) -> list[str]:
        """Deletes up to `limit` finished runs whose `expires_at` passed, with their tasks,
        logs and blobs (retention; the sweeper calls it). Returns the purged run ids."""
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
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
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
