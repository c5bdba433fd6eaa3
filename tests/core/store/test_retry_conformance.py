"""The store primitives of client.retry_run, on every store: each one conditional."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from triggerfish.core.store.base import RunRecord, TaskRecord
from triggerfish.core.types import RunStatus, TaskStatus

NOW = 1_800_000_000.0


def _ended(store: Any, status: RunStatus) -> None:
    store.create_run(RunRecord(id="run_1", job_id="job", status=RunStatus.PENDING,
                               created_at=NOW, due_at=NOW))  # fmt: skip
    leased = store.acquire_lease("run_1", owner="a", now=NOW, lease_expires_at=NOW + 60,
                                 expired_owner=None)  # fmt: skip
    assert leased is not None
    assert store.update_run("run_1", owner="a", changes={
        "status": status, "error": {"type": "Boom", "message": "x"}, "completed_at": NOW + 1,
        "due_at": None, "resume_at": None, "lease_owner": None, "lease_expires_at": None,
        "lost_leases": 2, "slot": 0,
    })  # fmt: skip


def test_retry_run_continues_only_failed_or_timed_out_runs(store: Any) -> None:
    _ended(store, RunStatus.FAILED)
    retried = store.retry_run("run_1", now=NOW + 100)
    assert retried is not None
    assert (retried.status, retried.error, retried.completed_at) == (RunStatus.PENDING, None, None)
    assert (retried.started_at, retried.due_at, retried.lost_leases, retried.slot) == (
        NOW + 100, NOW + 100, 0, None)  # fmt: skip
    assert store.get_run("run_1") == retried
    assert store.retry_run("run_1", now=NOW + 200) is None  # PENDING now: not again
    assert "run_1" in store.list_due_runs(now=NOW + 100, limit=10)
    assert store.retry_run("run_missing", now=NOW) is None


def test_retry_run_takes_a_timed_out_run_but_not_a_completed_or_canceled_one(store: Any) -> None:
    _ended(store, RunStatus.TIMED_OUT)
    assert store.retry_run("run_1", now=NOW + 100) is not None
    store.cancel_run("run_1", now=NOW + 101)
    assert store.retry_run("run_1", now=NOW + 102) is None
    assert store.get_run("run_1").status is RunStatus.CANCELED


def test_retry_task_replaces_only_the_errored_record_it_read(store: Any) -> None:
    errored = TaskRecord(run_id="run_1", id="t", key="t", status=TaskStatus.ERRORED, attempts=3,
                         error={"type": "Boom", "message": "x"})  # fmt: skip
    store.put_task(errored)
    fresh = replace(errored, status=TaskStatus.WAITING, resume_at=NOW, attempt_base=3)
    assert not store.retry_task(fresh, failed_attempts=2)  # not the record we read
    assert store.retry_task(fresh, failed_attempts=3)
    assert store.get_task("run_1", "t") == fresh
    assert not store.retry_task(replace(fresh, attempt_base=9), failed_attempts=3)  # not ERRORED
    done = replace(fresh, status=TaskStatus.COMPLETED, attempts=4, output_json='"ok"')
    assert store.put_task(done)
    assert not store.retry_task(replace(done, status=TaskStatus.WAITING), failed_attempts=4)
    assert not store.retry_task(replace(fresh, id="absent"), failed_attempts=3)
