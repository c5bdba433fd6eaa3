"""`SQLiteStore`: the embedded store for a laptop or a single-machine server.

WAL mode; each conditional write is one transaction, so several processes can share one
file: a single conditional statement (INSERT OR IGNORE, the put_task upsert) commits on its
own; a read-then-write is one `BEGIN IMMEDIATE` transaction that reads the row and writes
it only when the condition holds. The tables and the records' JSON text are in
store/sqlite_rows.py.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import weakref
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

from ..errors import StoreError
from ..types import RunStatus, TaskStatus
from .base import (
    MAX_INLINE_OUTPUT_BYTES,
    RETRY_RUN_STATUSES,
    CallbackRecord,
    EventRecord,
    EventWaitRecord,
    History,
    LogRecord,
    RunRecord,
    TaskRecord,
    decode_cursor,
    encode_cursor,
    retried_run_changes,
)
from .sqlite_checkpoints import Checkpointer
from .sqlite_connections import CONNECTIONS_SCHEMA, SQLiteConnections
from .sqlite_fleet import SQLiteFleet
from .sqlite_flows import SQLiteFlows
from .sqlite_rows import (
    PUT_TASK,
    RUN_FIELDS,
    SCHEMA,
    changed_run,
    dump,
    dump_task,
    leased,
    load_run,
    load_task,
)

_WAKEABLE = (RunStatus.WAITING, RunStatus.WAITING_ON_CONNECTIONS)
"""The statuses `wake_run` brings forward (a wait, or a connection now set)."""


class _Transaction:
    """`SQLiteStore._write()`: a plain context manager (entered on every run's lease and end
    write; `@contextmanager` costs a generator each time). SQLite errors become StoreError."""

    __slots__ = ("_store",)

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    def __enter__(self) -> sqlite3.Connection:
        store = self._store
        store._lock.acquire()
        try:
            store._db.execute("BEGIN IMMEDIATE")
        except BaseException as exc:
            store._lock.release()
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"SQLite {store.path}: {exc}") from exc
            raise
        return store._db

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        store = self._store
        try:
            if exc is None:
                store._db.execute("COMMIT")
                store._checkpoints.wrote()
                return
            store._db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"SQLite {store.path}: {exc}") from exc
        finally:
            store._lock.release()


logger = logging.getLogger(__name__)

MAX_OUTPUT_WARNINGS_KEPT = 10_000
"""Runs/tasks remembered as already warned about a large output (then forgotten)."""
MAX_RUNS_REMEMBERED = 1024
"""Run records this store wrote and keeps with their JSON text (then forgotten), so that
reading one back is a text comparison, not a decode: only runs not yet final, whose text
is at most MAX_RUN_TEXT_REMEMBERED characters (at most ~10 MB in all)."""
MAX_RUN_TEXT_REMEMBERED = 4096


class SQLiteStore(SQLiteConnections, SQLiteFlows, SQLiteFleet):
    """The embedded store: one SQLite file (or ":memory:"), shared safely by processes."""

    offload = False

    def __init__(self, path: str | Path = "triggerfish.db", *, timeout_seconds: float = 30.0):
        self.path = str(path)
        self._lock = threading.RLock()
        self._warned_outputs: set[tuple[str, str | None]] = set()
        self._written_runs: dict[str, tuple[str, RunRecord]] = {}
        self._db = sqlite3.connect(
            self.path, timeout=timeout_seconds, isolation_level=None, check_same_thread=False
        )
        in_memory = self.path == ":memory:"
        if not in_memory:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints: in a thread
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._writer = self._db.cursor()  # one cursor for `_one_statement`: none made per write
        self._checkpoints = Checkpointer(self.path, enabled=not in_memory)
        weakref.finalize(self, self._checkpoints.stop)  # a store dropped unclosed: no thread left
        self._db.executescript(SCHEMA + CONNECTIONS_SCHEMA)

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    def _write(self) -> _Transaction:
        """`with self._write() as db:` one BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error)."""
        return _Transaction(self)

    def _one_statement(self, sql: str, params: tuple[Any, ...]) -> int:
        """One write statement, committed on its own (SQLite's implicit transaction): rows
        changed. A lone conditional INSERT or DELETE needs no BEGIN/COMMIT round trips."""
        with self._lock:
            try:
                changed = self._writer.execute(sql, params).rowcount
            except sqlite3.Error as exc:
                raise StoreError(f"SQLite {self.path}: {exc}") from exc
            self._checkpoints.wrote()
            return changed

    def _read_run(self, db: sqlite3.Connection, run_id: str) -> RunRecord | None:
        row = db.execute("SELECT data FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            return None
        written = self._written_runs.get(run_id)
        if written is not None and written[0] == row[0]:
            return written[1]  # the stored text is the one this store wrote: same record
        return load_run(row[0])

    def _remember_run(self, run: RunRecord, text: str) -> None:
        """The record as last written by this store, to skip decoding its text on the next
        read (the lease's and the end's read-then-write). Only a record of scalar fields,
        whose text decodes back to an equal record: no shared dicts, no clamped numbers."""
        remembered = self._written_runs
        if (
            run.status.is_final  # read back rarely: its lease and end reads are over
            or len(text) > MAX_RUN_TEXT_REMEMBERED  # large payloads: memory over speed
            or run.error is not None
            or run.usage is not None
            or "e+308" in text
        ):
            remembered.pop(run.id, None)
            return
        if len(remembered) >= MAX_RUNS_REMEMBERED:
            remembered.clear()
        remembered[run.id] = (text, run)

    def _write_run(self, db: sqlite3.Connection, run: RunRecord) -> None:
        text = dump(run)
        db.execute(
            "UPDATE runs SET status = ?, due_at = ?, data = ? WHERE id = ?",
            (run.status.value, run.due_at, text, run.id),
        )
        self._remember_run(run, text)

    def create_run(self, run: RunRecord) -> bool:
        text = dump(run)
        created = self._one_statement(
            "INSERT OR IGNORE INTO runs (id, job_id, status, created_at, due_at, data)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (run.id, run.job_id, run.status.value, run.created_at, run.due_at, text),
        ) == 1
        if created:
            with self._lock:
                self._remember_run(run, text)
        return created

    def get_run(self, run_id: str) -> RunRecord | None:
        with self._lock:
            return self._read_run(self._db, run_id)

    def acquire_lease(
        self,
        run_id: str,
        *,
        owner: str,
        now: float,
        lease_expires_at: float,
        expired_owner: str | None,
    ) -> RunRecord | None:
        with self._write() as db:
            run = self._read_run(db, run_id)
            if run is None or run.status.is_final:
                return None
            if expired_owner is None:
                is_lease_ours_to_take = run.lease_owner is None
            else:
                is_lease_ours_to_take = (
                    run.lease_owner == expired_owner
                    and run.lease_expires_at is not None
                    and run.lease_expires_at < now
                )
            if not is_lease_ours_to_take:
                return None
            taken = leased(run, owner, now, lease_expires_at, is_lost=expired_owner is not None)
            self._write_run(db, taken)
            return taken

    def lease_run(
        self, run_id: str, *, owner: str, now: float, lease_expires_at: float
    ) -> RunRecord | None:
        with self._write() as db:
            run = self._read_run(db, run_id)
            if run is None or run.status.is_final or run.lease_owner is not None:
                return None
            is_early = run.resume_at is not None and run.resume_at > now
            if run.status is RunStatus.WAITING and is_early:
                return None
            taken = leased(run, owner, now, lease_expires_at, is_lost=False)
            self._write_run(db, taken)
            return taken

    def update_run(self, run_id: str, *, owner: str, changes: dict[str, Any]) -> bool:
        unknown = set(changes) - RUN_FIELDS
        if unknown:
            raise ValueError(f"unknown run fields: {sorted(unknown)}")
        with self._write() as db:
            run = self._read_run(db, run_id)
            if run is None or run.status.is_final or run.lease_owner != owner:
                return False
            self._write_run(db, changed_run(run, changes))
        output_json = changes.get("output_json")
        if output_json is not None:
            room = MAX_INLINE_OUTPUT_BYTES - len(run.payload_json.encode())
            self._warn_large_output(run_id, None, output_json, room)
        return True

    def _warn_large_output(
        self, run_id: str, task_key: str | None, output_json: str, room: int
    ) -> None:
        """Once per run or task: this output would not fit DynamoDB without a bucket."""
        size = len(output_json.encode())
        if size <= room:
            return
        seen = (run_id, task_key)
        if seen in self._warned_outputs:
            return
        if len(self._warned_outputs) >= MAX_OUTPUT_WARNINGS_KEPT:
            self._warned_outputs.clear()
        self._warned_outputs.add(seen)
        what = "the run's output" if task_key is None else f"task {task_key!r}'s output"
        logger.warning(
            "run %s: %s is %d bytes of JSON, over the %d bytes a DynamoDB item holds for "
            "it (%d KB less the payload, for a run): SQLite stores it, but on DynamoDB "
            "without a bucket (TRIGGERFISH_BUCKET) it would fail",
            run_id, what, size, room, MAX_INLINE_OUTPUT_BYTES // 1024,
        )  # fmt: skip

    def cancel_run(
        self, run_id: str, *, now: float, expires_at: float | None = None
    ) -> RunRecord | None:
        with self._write() as db:
            run = self._read_run(db, run_id)
            if run is None or run.status.is_final:
                return None
            canceled = run.with_changes(
                {
                    "status": RunStatus.CANCELED,
                    "completed_at": now,
                    "updated_at": now,
                    "due_at": None,
                    "resume_at": None,
                    "expires_at": expires_at,
                }
            )
            self._write_run(db, canceled)
            return canceled

    def put_task(self, task: TaskRecord) -> bool:
        # One statement: the condition (`is_task_overwritable`, on the stored JSON) and the
        # write are atomic, and committed (durable) before this returns.
        if self._one_statement(PUT_TASK, (task.run_id, task.id, dump_task(task), task.attempts)) != 1:
            return False
        output = task.output_json  # a UTF-8 character is at most 4 bytes: most skip the count
        if output is not None and len(output) > MAX_INLINE_OUTPUT_BYTES // 4:
            self._warn_large_output(task.run_id, task.key, output, MAX_INLINE_OUTPUT_BYTES)
        return True

    def get_task(self, run_id: str, task_id: str) -> TaskRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM tasks WHERE run_id = ? AND id = ?", (run_id, task_id)
            ).fetchone()
        return None if row is None else load_task(row[0])

    def load_history(self, run_id: str) -> History:
        with self._lock:
            task_rows = self._db.execute(
                "SELECT data FROM tasks WHERE run_id = ?", (run_id,)
            ).fetchall()
            log_rows = self._db.execute(
                "SELECT data FROM logs WHERE run_id = ? ORDER BY key", (run_id,)
            ).fetchall()
        history = History(pages=1)
        for (data,) in task_rows:
            task = load_task(data)
            history.tasks[task.id] = task
        for (data,) in log_rows:
            log = LogRecord(**json.loads(data))
            history.logs[log.key] = log
        return history

    def put_logs(self, logs: list[LogRecord]) -> None:
        if not logs:
            return
        with self._write() as db:
            db.executemany(
                "INSERT OR REPLACE INTO logs (run_id, key, data) VALUES (?, ?, ?)",
                [(log.run_id, log.key, dump(log)) for log in logs],
            )

    def create_event(self, event: EventRecord) -> bool:
        if not event.is_due_indexed:
            return self._one_statement(
                "INSERT OR IGNORE INTO events (id, data) VALUES (?, ?)", (event.id, dump(event))
            ) == 1
        with self._write() as db:  # a delayed event: the event and its due entry together
            cursor = db.execute(
                "INSERT OR IGNORE INTO events (id, data) VALUES (?, ?)", (event.id, dump(event))
            )
            if cursor.rowcount == 1:
                db.execute("INSERT OR REPLACE INTO events_due (id, deliver_at) VALUES (?, ?)",
                           (event.id, event.deliver_at))  # fmt: skip
            return cursor.rowcount == 1

    def get_event(self, event_id: str) -> EventRecord | None:
        with self._lock:
            return self._read_event(self._db, event_id)

    def _read_event(self, db: sqlite3.Connection, event_id: str) -> EventRecord | None:
        row = db.execute("SELECT data FROM events WHERE id = ?", (event_id,)).fetchone()
        if row is None:
            return None
        raw = json.loads(row[0])
        raw["run_ids"] = tuple(raw["run_ids"])
        return EventRecord(**raw)

    def update_event(self, event_id: str, *, expected_status: str, changes: dict[str, Any]) -> bool:
        unknown = set(changes) - {"status", "run_ids", "deliver_at", "sent_at"}
        if unknown:
            raise ValueError(f"unknown event fields: {sorted(unknown)}")
        with self._write() as db:
            event = self._read_event(db, event_id)
            if event is None or event.status != expected_status:
                return False
            if "run_ids" in changes:
                changes = {**changes, "run_ids": tuple(changes["run_ids"])}
            changed = replace(event, **changes)
            db.execute("UPDATE events SET data = ? WHERE id = ?", (dump(changed), event_id))
            if changed.is_due_indexed:
                db.execute("INSERT OR REPLACE INTO events_due (id, deliver_at) VALUES (?, ?)",
                           (event_id, changed.deliver_at))  # fmt: skip
            else:
                db.execute("DELETE FROM events_due WHERE id = ?", (event_id,))
            return True

    def list_due_events(self, *, now: float, limit: int) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id FROM events_due WHERE deliver_at <= ? ORDER BY deliver_at LIMIT ?",
                (now, limit),
            ).fetchall()
        return [event_id for (event_id,) in rows]

    def put_event_wait(self, wait: EventWaitRecord) -> bool:
        with self._write() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO event_waits (name, run_id, task_id, data) VALUES (?, ?, ?, ?)",
                (wait.name, wait.run_id, wait.task_id, dump(wait)),
            )
            return cursor.rowcount == 1

    def list_event_waits(self, name: str) -> list[EventWaitRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT data FROM event_waits WHERE name = ?", (name,)
            ).fetchall()
        return [EventWaitRecord(**json.loads(data)) for (data,) in rows]

    def delete_event_wait(self, name: str, run_id: str, task_id: str) -> None:
        with self._write() as db:
            db.execute(
                "DELETE FROM event_waits WHERE name = ? AND run_id = ? AND task_id = ?",
                (name, run_id, task_id),
            )

    def create_callback(self, callback: CallbackRecord) -> bool:
        with self._write() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO callbacks (token_hash, data) VALUES (?, ?)",
                (callback.token_hash, dump(callback)),
            )
            return cursor.rowcount == 1

    def get_callback(self, token_hash: str) -> CallbackRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM callbacks WHERE token_hash = ?", (token_hash,)
            ).fetchone()
        return None if row is None else CallbackRecord(**json.loads(row[0]))

    def list_runs(
        self,
        *,
        job_id: str | None,
        status: RunStatus | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[RunRecord], str | None]:
        clauses: list[str] = []
        params: list[Any] = []
        if job_id is not None:
            clauses.append("job_id = ?")
            params.append(job_id)
        if status is not None:
            clauses.append("status = ?")
            params.append(status.value)
        if cursor is not None:
            after = decode_cursor(cursor, fields={"created_at": (int, float), "id": str})
            clauses.append("(created_at < ? OR (created_at = ? AND id < ?))")
            params.extend([after["created_at"], after["created_at"], after["id"]])
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._lock:
            rows = self._db.execute(
                f"SELECT data FROM runs {where} ORDER BY created_at DESC, id DESC LIMIT ?",
                (*params, limit + 1),
            ).fetchall()
        runs = [load_run(data) for (data,) in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = runs[-1]
            next_cursor = encode_cursor({"created_at": last.created_at, "id": last.id})
        return runs, next_cursor

    def list_due_runs(self, *, now: float, limit: int) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id FROM runs WHERE due_at IS NOT NULL AND due_at <= ?"
                " ORDER BY due_at LIMIT ?",
                (now, limit),
            ).fetchall()
        return [run_id for (run_id,) in rows]

    def claim_slot(self, schedule_id: str, slot: str, *, expires_at: float) -> bool:
        return self._one_statement(
            "INSERT OR IGNORE INTO slots (schedule_id, slot, expires_at) VALUES (?, ?, ?)",
            (schedule_id, slot, expires_at),
        ) == 1

    def claim_concurrency_slot(
        self, job_id: str, slot: int, run_id: str, *, previous_holder: str | None
    ) -> bool:
        with self._write() as db:
            row = db.execute(
                "SELECT holder FROM concurrency WHERE job_id = ? AND slot = ?", (job_id, slot)
            ).fetchone()
            holder = None if row is None else row[0]
            allowed = (holder is None or holder == run_id) if previous_holder is None else (
                holder == previous_holder
            )
            if not allowed:
                return False
            db.execute(
                "INSERT OR REPLACE INTO concurrency (job_id, slot, holder) VALUES (?, ?, ?)",
                (job_id, slot, run_id),
            )
            return True

    def get_concurrency_holder(self, job_id: str, slot: int) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT holder FROM concurrency WHERE job_id = ? AND slot = ?", (job_id, slot)
            ).fetchone()
        return None if row is None else str(row[0])

    def release_concurrency_slot(self, job_id: str, slot: int, run_id: str) -> None:
        self._one_statement(
            "DELETE FROM concurrency WHERE job_id = ? AND slot = ? AND holder = ?",
            (job_id, slot, run_id),
        )

    def wake_run(self, run_id: str, *, at: float, now: float | None = None) -> str:
        now = time.time() if now is None else now
        with self._write() as db:
            run = self._read_run(db, run_id)
            if run is None or run.status.is_final:
                return "unchanged"
            is_leased = run.lease_owner is not None and (
                run.lease_expires_at is None or run.lease_expires_at >= now
            )
            if is_leased:
                return "leased"
            if run.status not in _WAKEABLE or (
                run.resume_at is not None and run.resume_at <= at
            ):
                return "unchanged"
            self._write_run(db, run.with_changes({"resume_at": at, "due_at": at}))
            return "woken"

    def list_queued_runs(self, job_id: str, *, limit: int) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id FROM runs WHERE COALESCE(json_extract(data, '$.queue'), job_id) = ?"
                " AND status = 'QUEUED' AND due_at IS NULL ORDER BY"
                " -COALESCE(json_extract(data, '$.priority'), 0), created_at, id LIMIT ?",
                (job_id, limit),
            ).fetchall()
        return [run_id for (run_id,) in rows]

    def wake_queued_run(self, run_id: str, *, at: float) -> bool:
        with self._write() as db:
            run = self._read_run(db, run_id)
            if run is None or run.status is not RunStatus.QUEUED:
                return False
            self._write_run(db, run.with_changes({"due_at": at}))
            return True
    def purge_expired_runs(self, *, now: float, limit: int) -> list[str]:
        with self._write() as db:
            rows = db.execute(
                "SELECT id, data FROM runs WHERE json_extract(data, '$.expires_at') IS NOT NULL"
                " AND json_extract(data, '$.expires_at') <= ? LIMIT ?", (now, limit),
            ).fetchall()  # fmt: skip
            purged = [run_id for run_id, data in rows if load_run(data).status.is_final]
            for run_id in purged:
                for table in ("tasks", "logs"):
                    db.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
                db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
            return purged

    def close(self) -> None:
        self._checkpoints.close()
        with self._lock:
            self._db.close()

    def move_hooks_due(self, run_id: str, *, expected: float, to: float | None) -> bool:
        with self._write() as db:
            run = self._read_run(db, run_id)
            if run is None or not run.status.is_final or run.hooks_due_at != expected:
                return False
            self._write_run(db, run.with_changes({"hooks_due_at": to, "due_at": to}))
            return True
    def retry_task(self, task: TaskRecord, *, failed_attempts: int) -> bool:
        with self._write() as db:
            row = db.execute(
                "SELECT data FROM tasks WHERE run_id = ? AND id = ?", (task.run_id, task.id)
            ).fetchone()
            existing = None if row is None else load_task(row[0])
            if existing is None or existing.status is not TaskStatus.ERRORED:
                return False
            if existing.attempts != failed_attempts:
                return False
            db.execute(
                "UPDATE tasks SET data = ? WHERE run_id = ? AND id = ?",
                (dump(task), task.run_id, task.id),
            )
            return True

    def retry_run(self, run_id: str, *, now: float) -> RunRecord | None:
        with self._write() as db:
            run = self._read_run(db, run_id)
            if run is None or run.status not in RETRY_RUN_STATUSES:
                return None
            retried = run.with_changes({**retried_run_changes(now), "retries": run.retries + 1})
            self._write_run(db, retried)
            return retried
