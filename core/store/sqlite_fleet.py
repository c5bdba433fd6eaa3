"""`SQLiteFleet`: the SQLite store's paused jobs and stored schedules (store/fleet.py).

A mixin of `SQLiteStore` (its connection, lock and single-statement writes); the tables are in
store/sqlite_rows.py's SCHEMA.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import TYPE_CHECKING, Any

from .fleet import ScheduleRecord, load_schedule, schedule_json


class SQLiteFleet:
    """Paused jobs (`job_pauses`) and schedules (`schedules`) in the store's file."""

    _db: sqlite3.Connection
    _lock: threading.RLock

    if TYPE_CHECKING:  # SQLiteStore's

        def _one_statement(self, sql: str, params: tuple[Any, ...]) -> int: ...

    def set_job_paused(self, job_id: str, *, paused: bool, now: float) -> bool:
        if paused:
            return self._one_statement(
                "INSERT OR IGNORE INTO job_pauses (job_id, paused_at) VALUES (?, ?)", (job_id, now)
            ) == 1
        return self._one_statement("DELETE FROM job_pauses WHERE job_id = ?", (job_id,)) == 1

    def get_job_paused_at(self, job_id: str) -> float | None:
        with self._lock:
            row = self._db.execute(
                "SELECT paused_at FROM job_pauses WHERE job_id = ?", (job_id,)
            ).fetchone()
        return None if row is None else float(row[0])

    def put_schedule(self, schedule: ScheduleRecord, *, expected_version: int | None) -> bool:
        text = schedule_json(schedule)
        if expected_version is None:
            return self._one_statement(
                "INSERT OR IGNORE INTO schedules (id, job_id, version, data) VALUES (?, ?, ?, ?)",
                (schedule.id, schedule.job_id, schedule.version, text),
            ) == 1
        return self._one_statement(
            "UPDATE schedules SET job_id = ?, version = ?, data = ? WHERE id = ? AND version = ?",
            (schedule.job_id, schedule.version, text, schedule.id, expected_version),
        ) == 1

    def get_schedule(self, schedule_id: str) -> ScheduleRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM schedules WHERE id = ?", (schedule_id,)
            ).fetchone()
        return None if row is None else load_schedule(row[0])

    def list_schedules(self) -> list[ScheduleRecord]:
        with self._lock:
            rows = self._db.execute("SELECT data FROM schedules ORDER BY id").fetchall()
        return [load_schedule(data) for (data,) in rows]

    def delete_schedule(self, schedule_id: str) -> bool:
        return self._one_statement("DELETE FROM schedules WHERE id = ?", (schedule_id,)) == 1
