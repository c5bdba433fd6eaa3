"""The SQLite store's flow state (rate windows, debounces, batches): one row per name,
changed by compare-and-set on its version inside one transaction."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager

from .base import FlowRecord


class SQLiteFlows:
    """`get_flow` and `put_flow` of `SQLiteStore` (which sets the attributes declared here)."""

    _db: sqlite3.Connection
    _lock: threading.RLock

    _write: Callable[[], AbstractContextManager[sqlite3.Connection]]

    def get_flow(self, name: str) -> FlowRecord | None:
        with self._lock:
            row = self._db.execute("SELECT data FROM flows WHERE name = ?", (name,)).fetchone()
        return None if row is None else FlowRecord(**json.loads(row[0]))

    def put_flow(self, flow: FlowRecord, *, expected_version: int | None) -> bool:
        text = json.dumps(flow.__dict__, separators=(",", ":"))
        with self._write() as db:
            row = db.execute("SELECT version FROM flows WHERE name = ?", (flow.name,)).fetchone()
            if (None if row is None else row[0]) != expected_version:
                return False
            db.execute(
                "INSERT OR REPLACE INTO flows (name, version, data) VALUES (?, ?, ?)",
                (flow.name, flow.version, text),
            )
            return True
