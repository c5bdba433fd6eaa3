"""Conformance of the store primitives behind event waits, delayed events and callbacks."""

from __future__ import annotations

from typing import Any

from triggerfish.core.store.base import (
    EVENT_CANCELED,
    EVENT_DELIVERED,
    EVENT_DELIVERING,
    EVENT_PENDING,
    CallbackRecord,
    EventRecord,
    EventWaitRecord,
    RunRecord,
)
from triggerfish.core.types import RunStatus

NOW = 1_800_000_000.0


def wait(run_id: str, task_id: str = "t1", name: str = "order.paid", **fields: Any) -> Any:
    return EventWaitRecord(name=name, run_id=run_id, task_id=task_id, key="k",
                           created_at=NOW, **fields)  # fmt: skip


def test_event_waits_are_indexed_by_name_once_and_deleted(store: Any) -> None:
    assert store.put_event_wait(wait("run_a", filter_json='{"x": [1]}', expires_at=NOW + 60))
    assert not store.put_event_wait(wait("run_a"))
    for n in range(12):  # spread over the shards
        assert store.put_event_wait(wait(f"run_{n}", parent_id="p"))
    store.put_event_wait(wait("run_other", name="order.paid.other"))

    found = {w.run_id: w for w in store.list_event_waits("order.paid")}
    assert set(found) == {"run_a", *(f"run_{n}" for n in range(12))}
    assert found["run_a"].filter_json == '{"x": [1]}'
    assert found["run_a"].expires_at == NOW + 60
    assert found["run_3"].parent_id == "p"

    store.delete_event_wait("order.paid", "run_a", "t1")
    store.delete_event_wait("order.paid", "run_a", "t1")  # absent is fine
    assert "run_a" not in {w.run_id for w in store.list_event_waits("order.paid")}


def test_a_pending_event_is_due_once_its_time_comes_and_leaves_the_index(store: Any) -> None:
    pending = EventRecord(id="ev1", name="n", timestamp=NOW, status=EVENT_PENDING,
                          deliver_at=NOW + 30)  # fmt: skip
    assert store.create_event(pending)
    store.create_event(EventRecord(id="ev2", name="n", timestamp=NOW))  # delivered at once
    assert store.list_due_events(now=NOW, limit=10) == []
    assert store.list_due_events(now=NOW + 30, limit=10) == ["ev1"]

    changes = {"status": EVENT_DELIVERING, "deliver_at": NOW + 90}
    assert store.update_event("ev1", expected_status=EVENT_PENDING, changes=changes)
    assert not store.update_event("ev1", expected_status=EVENT_PENDING, changes=changes)
    assert store.list_due_events(now=NOW + 30, limit=10) == []
    assert store.list_due_events(now=NOW + 90, limit=10) == ["ev1"]

    done = {"status": EVENT_DELIVERED, "run_ids": ["r1"], "sent_at": NOW + 91}
    assert store.update_event("ev1", expected_status=EVENT_DELIVERING, changes=done)
    assert store.list_due_events(now=NOW + 1000, limit=10) == []
    stored = store.get_event("ev1")
    assert (stored.status, stored.run_ids, stored.sent_at) == (EVENT_DELIVERED, ("r1",), NOW + 91)
    assert not store.update_event("ev1", expected_status=EVENT_PENDING,
                                  changes={"status": EVENT_CANCELED})  # fmt: skip
    assert not store.update_event("missing", expected_status=EVENT_PENDING,
                                  changes={"status": EVENT_CANCELED})  # fmt: skip
    assert store.get_event("ev2").status == EVENT_DELIVERED


def test_a_callback_is_created_once_and_read_by_its_token_hash(store: Any) -> None:
    callback = CallbackRecord(token_hash="h" * 64, run_id="run_1", task_id="t", key="approve",
                              created_at=NOW, expires_at=NOW + 3600)  # fmt: skip
    assert store.create_callback(callback)
    assert not store.create_callback(callback)
    assert store.get_callback("h" * 64) == callback
    assert store.get_callback("x" * 64) is None


def test_wake_run_wakes_a_run_waiting_without_a_resume_time(store: Any) -> None:
    store.create_run(RunRecord(id="run_1", job_id="j", status=RunStatus.PENDING,
                               created_at=NOW, due_at=NOW))  # fmt: skip
    store.acquire_lease("run_1", owner="o", now=NOW, lease_expires_at=NOW + 60, expired_owner=None)
    store.update_run("run_1", owner="o", changes={
        "status": RunStatus.WAITING, "resume_at": None, "due_at": None,
        "lease_owner": None, "lease_expires_at": None})  # fmt: skip
    assert store.list_due_runs(now=NOW + 10, limit=10) == []
    assert store.wake_run("run_1", at=NOW + 1, now=NOW + 1) == "woken"
    assert store.list_due_runs(now=NOW + 1, limit=10) == ["run_1"]
