"""The SQLite store's tables, and its records as the JSON text of their rows.

Each table keeps a record whole as JSON in `data`, beside the columns its indexes and
conditions read; `dump` writes that text straight from a record's fields, `load_run` and
`load_task` read it back. `changed_run` and `leased` make the run record a write leaves,
without the frozen dataclass's `__init__` (on every lease and end write of store/sqlite.py).
"""

from __future__ import annotations

import json
import json.encoder
import math
import sys
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from ..types import RunStatus, TaskStatus
from .base import RunRecord, TaskRecord, record_from_fields

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, job_id TEXT NOT NULL, status TEXT NOT NULL,
    created_at REAL NOT NULL, due_at REAL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS runs_by_job ON runs (job_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS runs_by_time ON runs (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS runs_due ON runs (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS runs_queued ON runs (job_id, created_at, id) WHERE status = 'QUEUED';
CREATE INDEX IF NOT EXISTS runs_in_queue ON runs (COALESCE(json_extract(data, '$.queue'), job_id),
    -COALESCE(json_extract(data, '$.priority'), 0), created_at, id) WHERE status = 'QUEUED';
CREATE INDEX IF NOT EXISTS runs_expiring ON runs (json_extract(data, '$.expires_at'))
    WHERE json_extract(data, '$.expires_at') IS NOT NULL;
CREATE TABLE IF NOT EXISTS tasks (
    run_id TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (run_id, id));
CREATE TABLE IF NOT EXISTS logs (
    run_id TEXT NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (run_id, key));
CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS concurrency (
    job_id TEXT NOT NULL, slot INTEGER NOT NULL, holder TEXT NOT NULL,
    PRIMARY KEY (job_id, slot));
CREATE TABLE IF NOT EXISTS slots (
    schedule_id TEXT NOT NULL, slot TEXT NOT NULL, expires_at REAL,
    PRIMARY KEY (schedule_id, slot));
CREATE TABLE IF NOT EXISTS event_waits (
    name TEXT NOT NULL, run_id TEXT NOT NULL, task_id TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (name, run_id, task_id));
CREATE TABLE IF NOT EXISTS events_due (id TEXT PRIMARY KEY, deliver_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS events_due_at ON events_due (deliver_at);
CREATE TABLE IF NOT EXISTS callbacks (token_hash TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS flows (name TEXT PRIMARY KEY, version INTEGER NOT NULL,
    data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS job_pauses (job_id TEXT PRIMARY KEY, paused_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS schedules (
    id TEXT PRIMARY KEY, job_id TEXT NOT NULL, version INTEGER NOT NULL, data TEXT NOT NULL);
"""



def _compact_encoder() -> Callable[[Any], str]:
    """`JSONEncoder(separators=(",", ":"), allow_nan=False).encode` with its C encoder made
    once (`encode` makes one per call: ~2 µs of every task's write). No cycle check: a
    record's fields are JSON data already (properties are checked when given)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # an interpreter without the C accelerator
        return json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
    encode = make(None, json.JSONEncoder().default, json.encoder.encode_basestring_ascii,
                  None, ":", ",", False, False, False)  # fmt: skip
    return lambda value: "".join(encode(value, 0))


_encode = _compact_encoder()


def dump(record: Any) -> str:
    """A record as JSON text, straight from its fields (no deep copy: the text is the copy).

    SQLite's JSON functions (the indexes, put_task's condition) refuse NaN and Infinity, so
    a non-finite number in a record's fields is stored as the largest float; reads clamp
    such times (`models.utc`), as they do DynamoDB's largest number.
    """
    try:
        return _encode(record.__dict__)
    except ValueError:
        return _encode({name: _finite(value) for name, value in record.__dict__.items()})


_TASK_TIMES = ("started_at", "completed_at", "resume_at")

_fast_dumps: Callable[[Any], bytes] | None
try:  # an optional accelerator: without it, rows are written by the json module as before
    from orjson import dumps as _fast_dumps
except ImportError:  # the test suite runs both ways (tests/core/store/test_sqlite_rows.py)
    _fast_dumps = None


def dump_task(task: TaskRecord) -> str:
    """`dump(task)` for the commonest write: with orjson where it is installed (the `fast`
    extra; `asgi` and `dev` have it), ~1 µs instead of ~9 µs. Only a task with no error
    and no properties (their values are the user's: orjson writes NaN as null) and finite
    times takes it; a value orjson refuses (a lone surrogate, an int past 64 bits) falls
    back to `dump`. Same JSON either way, but for non-ASCII text written as UTF-8."""
    values = task.__dict__
    if _fast_dumps is None or values["error"] is not None or values["properties"] is not None:
        return dump(task)
    try:
        for name in _TASK_TIMES:
            value = values[name]
            if value is not None and not math.isfinite(value):
                return dump(task)
        return _fast_dumps(values).decode()
    except TypeError:  # orjson.JSONEncodeError is one
        return dump(task)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return -sys.float_info.max if value < 0 else sys.float_info.max
    return value


def changed_run(run: RunRecord, changes: dict[str, Any]) -> RunRecord:
    """`run.with_changes(changes)` for known field names, without the frozen `__init__`
    (`dataclasses.replace`, ~8 µs): on every lease and end write."""
    changed = object.__new__(RunRecord)
    values = changed.__dict__
    values.update(run.__dict__)
    values.update(changes)
    return changed


def load_run(data: str) -> RunRecord:
    """A run record from its row's text."""
    return record_from_fields(RunRecord, json.loads(data))


def load_task(data: str) -> TaskRecord:
    """A task record from its row's text."""
    return record_from_fields(TaskRecord, json.loads(data))


RUN_FIELDS = {f.name for f in fields(RunRecord)}

_FINAL_TASK_STATUSES = ", ".join(f"'{s.value}'" for s in TaskStatus if s.is_final)
PUT_TASK = f"""
INSERT INTO tasks (run_id, id, data) VALUES (?, ?, ?)
ON CONFLICT (run_id, id) DO UPDATE SET data = excluded.data
WHERE json_extract(tasks.data, '$.status') NOT IN ({_FINAL_TASK_STATUSES})
  AND json_extract(tasks.data, '$.attempts') <= ?
"""
"""`put_task`'s condition (`is_task_overwritable`) as one upsert: absent, or not final and
not a later attempt than ours; `rowcount` is 0 when the stored record wins."""


def leased(
    run: RunRecord, owner: str, now: float, lease_expires_at: float, *, is_lost: bool
) -> RunRecord:
    """The run as taking its lease leaves it (`acquire_lease` and `lease_run`)."""
    return changed_run(
        run,
        {
            "status": RunStatus.EXECUTING,
            "lease_owner": owner,
            "lease_expires_at": lease_expires_at,
            "due_at": lease_expires_at,
            "invocation_count": run.invocation_count + 1,
            "started_at": run.started_at if run.started_at is not None else now,
            "updated_at": now,
            "lost_leases": run.lost_leases + (1 if is_lost else 0),
        }
    )
