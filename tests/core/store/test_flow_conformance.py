"""Store conformance for flow control: named queues ordered by priority, then age, and the
versioned flow state (compare-and-set) that rate limits, debounces and batches are made of."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from triggerfish.core.store.base import FlowRecord, RunRecord
from triggerfish.core.types import RunStatus

NOW = 1_800_000_000.0


def queue_run(store: Any, run_id: str, *, created: float, priority: int = 0,
              queue: str | None = None, job_id: str = "job") -> None:  # fmt: skip
    store.create_run(RunRecord(id=run_id, job_id=job_id, status=RunStatus.PENDING,
                               created_at=created, due_at=NOW, priority=priority))  # fmt: skip
    store.acquire_lease(run_id, owner="a", now=NOW, lease_expires_at=NOW + 60, expired_owner=None)
    changes = {"status": RunStatus.QUEUED, "resume_at": None, "due_at": None,
               "lease_owner": None, "lease_expires_at": None, "queue": queue,
               "priority": priority, "queued_reason": "concurrency"}  # fmt: skip
    assert store.update_run(run_id, owner="a", changes=changes)


def test_a_queue_lists_higher_priority_first_then_oldest_first(store: Any) -> None:
    queue_run(store, "run_old_low", created=NOW + 1)
    queue_run(store, "run_new_high", created=NOW + 5, priority=10)
    queue_run(store, "run_old_high", created=NOW + 2, priority=10)
    queue_run(store, "run_negative", created=NOW, priority=-1)
    queue_run(store, "run_new_low", created=NOW + 3)

    assert store.list_queued_runs("job", limit=10) == [
        "run_old_high", "run_new_high", "run_old_low", "run_new_low", "run_negative",
    ]  # fmt: skip
    queued = store.get_run("run_new_high")
    assert (queued.priority, queued.queued_reason) == (10, "concurrency")


def test_named_queues_hold_their_own_runs_apart_from_the_jobs_queue(store: Any) -> None:
    queue_run(store, "run_a", created=NOW + 1, queue="q:tenant-a")
    queue_run(store, "run_b", created=NOW + 2, queue="q:tenant-b", job_id="other")
    queue_run(store, "run_b2", created=NOW + 3, queue="q:tenant-b")
    queue_run(store, "run_plain", created=NOW + 4)

    assert store.list_queued_runs("q:tenant-a", limit=10) == ["run_a"]
    assert store.list_queued_runs("q:tenant-b", limit=10) == ["run_b", "run_b2"]
    assert store.list_queued_runs("job", limit=10) == ["run_plain"]
    assert store.wake_queued_run("run_b", at=NOW + 5)
    assert store.list_queued_runs("q:tenant-b", limit=10) == ["run_b2"]


def test_flow_state_changes_only_from_the_version_read(store: Any) -> None:
    assert store.get_flow("rate:job") is None
    first = FlowRecord(name="rate:job", version=1, data={"starts": [[NOW, "run_1"]]}, writer="w1")
    assert store.put_flow(first, expected_version=None)
    assert not store.put_flow(first, expected_version=None)  # exists: not created twice
    second = FlowRecord(name="rate:job", version=2, data={"starts": []}, writer="w2",
                        expires_at=NOW + 60)  # fmt: skip
    assert not store.put_flow(second, expected_version=7)
    assert store.put_flow(second, expected_version=1)
    assert store.get_flow("rate:job") == second


def test_racing_compare_and_set_writers_lose_no_increment(store: Any) -> None:
    store.put_flow(FlowRecord(name="count", version=1, data={"n": 0}), expected_version=None)

    def increment(n: int) -> None:
        while True:
            current = store.get_flow("count")
            changed = FlowRecord(name="count", version=current.version + 1,
                                 data={"n": current.data["n"] + 1}, writer=f"w{n}")  # fmt: skip
            if store.put_flow(changed, expected_version=current.version):
                return

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(increment, range(12)))
    assert store.get_flow("count").data == {"n": 12}
