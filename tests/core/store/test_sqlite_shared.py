"""SQLiteStore on a file shared by two stores (two processes): each sees the other's writes."""

from __future__ import annotations

from pathlib import Path

from triggerfish.core import SQLiteStore
from triggerfish.core.store.base import RunRecord
from triggerfish.core.types import RunStatus

NOW = 1_700_000_000.0


def test_a_run_written_by_another_store_is_read_as_stored(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    first, second = SQLiteStore(path), SQLiteStore(path)
    try:
        run = RunRecord(id="run_1", job_id="job", status=RunStatus.PENDING, created_at=NOW,
                        updated_at=NOW, due_at=NOW)  # fmt: skip
        assert first.create_run(run)
        taken = second.lease_run("run_1", owner="second", now=NOW, lease_expires_at=NOW + 60)
        assert taken is not None and taken.lease_owner == "second"
        # The first store wrote the run last itself, but the stored run is the second's.
        assert first.lease_run("run_1", owner="first", now=NOW, lease_expires_at=NOW + 60) is None
        assert not first.update_run("run_1", owner="first", changes={"progress_mark": 1})
        assert second.update_run("run_1", owner="second", changes={"progress_mark": 2})
        assert first.get_run("run_1") == SQLiteStore(path).get_run("run_1")
        stored = first.get_run("run_1")
        assert stored is not None and stored.progress_mark == 2
        assert stored.lease_owner == "second"
    finally:
        first.close()
        second.close()


def test_a_leased_run_equals_the_run_read_back_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    store = SQLiteStore(path)
    try:
        run = RunRecord(id="run_1", job_id="job", status=RunStatus.PENDING, created_at=NOW,
                        updated_at=NOW, due_at=NOW, payload_json='{"n":1.5}')  # fmt: skip
        assert store.create_run(run)
        taken = store.lease_run("run_1", owner="me", now=NOW + 0.1, lease_expires_at=NOW + 60)
        fresh = SQLiteStore(path)
        try:
            assert taken == fresh.get_run("run_1")
            assert store.update_run("run_1", owner="me", changes={"status": RunStatus.COMPLETED,
                                                                   "output_json": "3"})  # fmt: skip
            assert store.get_run("run_1") == fresh.get_run("run_1")
        finally:
            fresh.close()
    finally:
        store.close()


def test_the_store_keeps_no_large_or_finished_run_in_memory(tmp_path: Path) -> None:
    """The read-back shortcut holds small in-flight runs only: 4,000 runs of 90 KB payloads
    once held ~700 MB in a long-lived `triggerfish dev`."""
    store = SQLiteStore(tmp_path / "memory.db")
    try:
        big = '"' + "x" * 90_000 + '"'
        for n in range(50):
            store.create_run(RunRecord(id=f"big_{n}", job_id="job", status=RunStatus.PENDING,
                                       created_at=NOW, due_at=NOW, payload_json=big))  # fmt: skip
        small = RunRecord(id="small", job_id="job", status=RunStatus.PENDING, created_at=NOW,
                          due_at=NOW)  # fmt: skip
        assert store.create_run(small)
        assert store.lease_run("small", owner="me", now=NOW, lease_expires_at=NOW + 60)
        remembered = dict(store._written_runs)
        assert store.update_run("small", owner="me", changes={"status": RunStatus.COMPLETED})
        assert list(remembered) == ["small"]
        assert store._written_runs == {}
        assert store.get_run("small") == SQLiteStore(tmp_path / "memory.db").get_run("small")
    finally:
        store.close()
