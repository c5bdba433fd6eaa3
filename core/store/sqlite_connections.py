"""`SQLiteConnections`: the SQLite store's connections and connection-wait index.

    connections        name -> the sealed credentials (never plain text), times
    connection_waits   (name, run id): a run WAITING_ON_CONNECTIONS on that name

`put_connection` is one conditional upsert (absent, or stored no later than ours);
`put_connection_wait` an INSERT OR IGNORE. `SQLiteStore` (store/sqlite.py) inherits this
class and sets the attributes declared here.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from typing import Any

from .base import ConnectionRecord, ConnectionWaitRecord
from .sqlite_rows import dump

CONNECTIONS_SCHEMA = """
CREATE TABLE IF NOT EXISTS connections (
    name TEXT PRIMARY KEY, updated_at REAL NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS connection_waits (
    name TEXT NOT NULL, run_id TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (name, run_id));
"""

_PUT_CONNECTION = (
    "INSERT INTO connections (name, updated_at, data) VALUES (?, ?, ?)"
    " ON CONFLICT (name) DO UPDATE SET updated_at = excluded.updated_at, data = excluded.data"
    " WHERE connections.updated_at <= excluded.updated_at"
)


class SQLiteConnections:
    """Connections and the runs waiting on them, in two tables of the store's file."""

    _db: sqlite3.Connection
    _lock: threading.RLock

    def _one_statement(self, sql: str, params: tuple[Any, ...]) -> int:
        raise NotImplementedError  # SQLiteStore's

    def put_connection(self, connection: ConnectionRecord) -> bool:
        changed = self._one_statement(
            _PUT_CONNECTION, (connection.name, connection.updated_at, dump(connection))
        )
        return changed == 1

    def get_connection(self, name: str) -> ConnectionRecord | None:
        with self._lock:
            row = self._db.execute("SELECT data FROM connections WHERE name = ?", (name,)).fetchone()
        return None if row is None else ConnectionRecord(**json.loads(row[0]))

    def list_connections(self) -> list[ConnectionRecord]:
        with self._lock:
            rows = self._db.execute("SELECT data FROM connections ORDER BY name").fetchall()
        return [ConnectionRecord(**json.loads(data)) for (data,) in rows]

    def put_connection_wait(self, wait: ConnectionWaitRecord) -> bool:
        changed = self._one_statement(
            "INSERT OR IGNORE INTO connection_waits (name, run_id, data) VALUES (?, ?, ?)",
            (wait.name, wait.run_id, dump(wait)),
        )
        return changed == 1

    def list_connection_waits(self, name: str) -> list[ConnectionWaitRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT data FROM connection_waits WHERE name = ? ORDER BY run_id", (name,)
            ).fetchall()
        return [ConnectionWaitRecord(**json.loads(data)) for (data,) in rows]

    def delete_connection_wait(self, name: str, run_id: str) -> None:
        self._one_statement(
            "DELETE FROM connection_waits WHERE name = ? AND run_id = ?", (name, run_id)
        )
