"""Live servers for the adapter tests: the ASGI app under real uvicorn on a free port.

`live` serves an in-process client (so a test can count what the store holds) from a
uvicorn thread; `DevServer` runs ``triggerfish dev`` in a subprocess (restarts, CLI).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import httpx
import pytest
from support.live_server import API_KEY, ThreadedServer, load_live_jobs, wait_for_health
from support.servers import free_port
from triggerfish.core import Client, SQLiteStore

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TRIGGERFISH = Path(sys.executable).with_name("triggerfish")


def make_client(db_path: Path) -> Client:
    """A client with the live test jobs on a SQLite file."""
    client = Client("live", store=SQLiteStore(db_path), api_key=API_KEY,
                    connection_key="MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
    defined: Client = load_live_jobs().define_jobs(client)
    return defined


@dataclass
class Live:
    """A running server: its URL, client, SQLite file and an authenticated httpx client."""

    url: str
    client: Client
    db_path: Path
    http: httpx.Client = field(repr=False)

    def counts(self) -> dict[str, int]:
        """How many runs, tasks and events the store holds (read through its own file)."""
        return store_counts(self.db_path)

    def wait_for_status(self, run_id: str, *statuses: str, timeout_seconds: float = 15.0) -> Any:
        """Polls ``GET /api/runs/{id}`` until the run has one of `statuses`."""
        deadline = time.monotonic() + timeout_seconds
        run: Any = None
        while time.monotonic() < deadline:
            run = self.http.get(f"/api/runs/{run_id}").json()
            if run.get("status") in statuses:
                return run
            time.sleep(0.05)
        raise AssertionError(f"run {run_id} never reached {statuses}; last seen {run}")


def store_counts(db_path: Path) -> dict[str, int]:
    with sqlite3.connect(db_path) as db:
        return {
            table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("runs", "tasks", "events")
        }


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The app (with the dashboard) under uvicorn, on a fresh SQLite file per test module."""
    from triggerfish.adapters.asgi import create_app

    db_path = tmp_path_factory.mktemp("live") / "runs.db"
    client = make_client(db_path)
    with ThreadedServer(create_app(client)) as server:
        headers = {"Authorization": f"Bearer {API_KEY}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=10.0) as http:
            yield Live(url=server.url, client=client, db_path=db_path, http=http)
    client.store.close()


class DevServer:
    """``triggerfish dev live_app:client`` in a subprocess, on a SQLite file."""

    def __init__(self, db_path: Path, *, port: int | None = None) -> None:
        self.db_path = db_path
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> DevServer:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT / "tests")]),
            "TRIGGERFISH_API_KEY": API_KEY,
        }
        command = [str(TRIGGERFISH), "dev", "live_app:client", "--db", str(self.db_path),
                   "--port", str(self.port)]
        self.process = subprocess.Popen(
            command, env=env, cwd=HERE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            wait_for_health(self.url)
        except TimeoutError:
            self.stop()
            raise
        return self

    def stop(self) -> str:
        """Stops the server as Ctrl+C does (graceful shutdown); returns its output."""
        if self.process is None:
            return ""
        process, self.process = self.process, None
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        return output

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture
def dev_server(tmp_path: Path) -> Iterator[Any]:
    """A factory of started `DevServer`s (stopped at teardown): ``dev_server(db_path)``."""
    started: list[DevServer] = []

    def start(db_path: Path | None = None, *, port: int | None = None) -> DevServer:
        server = DevServer(db_path or tmp_path / "dev.db", port=port).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def serve() -> Any:
    """`ThreadedServer`, to run another app (a parent that mounts ours) under uvicorn."""
    return ThreadedServer


@pytest.fixture
def make_live_client() -> Any:
    """`make_client`: a client with the live test jobs on a given SQLite file."""
    return make_client
