"""SQLiteStore checkpoints its write-ahead log in a thread of its own, not inside a commit:
the log stays bounded while a writer never pauses, nothing committed is lost, and a store
that writes little runs no thread at all."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from triggerfish.core import SQLiteStore
from triggerfish.core.store import sqlite_checkpoints
from triggerfish.core.store.base import TaskRecord
from triggerfish.core.types import TaskStatus

NOW = 1_700_000_000.0


def _task(i: int) -> TaskRecord:
    return TaskRecord(run_id="run_1", id=f"t{i:08d}", key=f"s{i}", status=TaskStatus.COMPLETED,
                      attempts=1, output_json="x" * 200, completed_at=NOW)  # fmt: skip


def _checkpoint_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("triggerfish-checkpoint")]


def _wal_pages(path: Path) -> int:
    wal = Path(f"{path}-wal")
    return wal.stat().st_size // 4096 if wal.exists() else 0


def _wait_for(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within 30 s"
        time.sleep(0.01)


def test_a_store_that_writes_little_runs_no_thread(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "little.db")
    try:
        for i in range(20):
            assert store.put_task(_task(i))
        assert _checkpoint_threads() == []
    finally:
        store.close()


def test_the_log_stays_bounded_while_a_writer_never_pauses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_checkpoints, "CHECKPOINT_EVERY_WRITES", 50)
    monkeypatch.setattr(sqlite_checkpoints, "RESTART_ABOVE_PAGES", 64)
    path = tmp_path / "busy.db"
    store = SQLiteStore(path)
    try:
        largest = 0
        for i in range(3000):
            assert store.put_task(_task(i))
            largest = max(largest, _wal_pages(path))
        assert len(_checkpoint_threads()) == 1
        # Without checkpoints the log would hold every commit: about 7,300 pages here.
        assert largest < 3000, f"the log grew to {largest} pages"
        assert len(store.load_history("run_1").tasks) == 3000
    finally:
        store.close()
    assert _checkpoint_threads() == []
    assert not Path(f"{path}-wal").exists(), "closing the store checkpoints what is left"


def test_writes_left_over_are_checkpointed_once_the_writer_is_idle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_checkpoints, "CHECKPOINT_EVERY_WRITES", 50)
    monkeypatch.setattr(sqlite_checkpoints, "IDLE_SECONDS", 0.05)
    path = tmp_path / "idle.db"
    store = SQLiteStore(path)
    try:
        for i in range(50):  # the 50th write starts the thread
            assert store.put_task(_task(i))
        _wait_for(lambda: store._checkpoints.checkpoints >= 1)
        for i in range(50, 60):  # ten more: fewer than a checkpoint's worth
            assert store.put_task(_task(i))
        _wait_for(lambda: store._checkpoints.checkpoints >= 2)
        reader = SQLiteStore(path)  # the rows are in the database file for anyone
        assert len(reader.load_history("run_1").tasks) == 60
        reader.close()
    finally:
        store.close()


def test_an_in_memory_store_has_no_log_and_no_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_checkpoints, "CHECKPOINT_EVERY_WRITES", 10)
    store = SQLiteStore(":memory:")
    try:
        for i in range(50):
            assert store.put_task(_task(i))
        assert _checkpoint_threads() == []
    finally:
        store.close()


def test_every_committed_write_survives_a_killed_process(tmp_path: Path) -> None:
    path = tmp_path / "killed.db"
    script = textwrap.dedent(f"""
        import os, signal
        from triggerfish.core import SQLiteStore
        from triggerfish.core.store.base import TaskRecord
        from triggerfish.core.types import TaskStatus
        store = SQLiteStore({str(path)!r})
        for i in range(2500):  # past two background checkpoints
            assert store.put_task(TaskRecord(run_id="run_1", id=f"t{{i:08d}}", key=f"s{{i}}",
                                             status=TaskStatus.COMPLETED, attempts=1))
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    done = subprocess.run([sys.executable, "-c", script], check=False, timeout=120)
    assert done.returncode == -9
    store = SQLiteStore(path)
    try:
        assert len(store.load_history("run_1").tasks) == 2500
    finally:
        store.close()


def test_a_store_dropped_without_close_leaves_no_thread_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_checkpoints, "CHECKPOINT_EVERY_WRITES", 10)
    store = SQLiteStore(tmp_path / "dropped.db")
    for i in range(20):
        assert store.put_task(_task(i))
    assert len(_checkpoint_threads()) == 1
    del store
    gc.collect()
    _wait_for(lambda: _checkpoint_threads() == [])
