"""One conformance suite for every store: the conditions of each write, and paging."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from triggerfish.core.store.base import (
    ConnectionRecord,
    ConnectionWaitRecord,
    EventRecord,
    LogRecord,
    RunRecord,
    TaskRecord,
)
from triggerfish.core.types import RunStatus, TaskStatus

NOW = 1_800_000_000.0


def new_run(run_id: str = "run_1", **fields: Any) -> RunRecord:
    fields = {"due_at": NOW, "job_id": "job", "status": RunStatus.PENDING, "created_at": NOW,
              **fields}  # fmt: skip
    return RunRecord(id=run_id, **fields)


def task(key: str, status: TaskStatus, attempts: int = 1, **fields: Any) -> TaskRecord:
    return TaskRecord(run_id="run_1", id=f"id-{key}", key=key, status=status, attempts=attempts, **fields)


def take(store: Any, owner: str, *, now: float = NOW, expired: str | None = None) -> Any:
    return store.acquire_lease(
        "run_1", owner=owner, now=now, lease_expires_at=now + 60, expired_owner=expired
    )


def test_create_run_is_conditional_on_absence(store: Any) -> None:
    assert store.create_run(new_run(payload_json='{"a":1}'))
    assert not store.create_run(new_run(payload_json='{"a":2}'))
    assert store.get_run("run_1").payload_json == '{"a":1}'
    assert store.get_run("run_other") is None


def test_only_one_owner_holds_the_lease_until_it_expires(store: Any) -> None:
    store.create_run(new_run())
    first = take(store, "a")
    assert first.status is RunStatus.EXECUTING and first.invocation_count == 1
    assert first.started_at == NOW
    assert take(store, "b") is None
    assert take(store, "c", now=NOW + 61, expired="wrong-owner") is None
    assert take(store, "c", now=NOW + 30, expired="a") is None
    stolen = take(store, "c", now=NOW + 61, expired="a")
    assert stolen.lease_owner == "c" and stolen.lost_leases == 1 and stolen.invocation_count == 2
    assert stolen.started_at == NOW


def lease(store: Any, owner: str, *, run_id: str = "run_1", now: float = NOW) -> Any:
    return store.lease_run(run_id, owner=owner, now=now, lease_expires_at=now + 60)


def test_lease_run_takes_a_free_lease_and_returns_the_leased_run(store: Any) -> None:
    store.create_run(new_run(payload_json='{"a":1}'))
    first = lease(store, "a")
    assert (first.status, first.lease_owner, first.invocation_count) == (
        RunStatus.EXECUTING, "a", 1)
    assert (first.lease_expires_at, first.started_at, first.payload_json) == (
        NOW + 60, NOW, '{"a":1}')
    assert store.get_run("run_1") == first
    assert lease(store, "b") is None, "a live lease is not taken"
    assert lease(store, "b", now=NOW + 61) is None, "an expired one neither: acquire_lease's"
    assert lease(store, "b", run_id="run_missing") is None
    assert store.get_run("run_1").lease_owner == "a"


def test_lease_run_refuses_final_runs_and_early_wakes_of_waiting_ones(store: Any) -> None:
    store.create_run(new_run())
    take(store, "a")
    waiting = {"status": RunStatus.WAITING, "resume_at": NOW + 30, "due_at": NOW + 30,
               "lease_owner": None, "lease_expires_at": None}  # fmt: skip
    store.update_run("run_1", owner="a", changes=waiting)
    assert lease(store, "b", now=NOW + 29) is None, "woken before its resume_at"
    assert store.get_run("run_1").status is RunStatus.WAITING
    second = lease(store, "b", now=NOW + 30)
    assert (second.lease_owner, second.invocation_count, second.lost_leases) == ("b", 2, 0)
    assert second.started_at == NOW, "the first lease's start is kept"
    store.update_run("run_1", owner="b", changes={"status": RunStatus.COMPLETED,
                                                  "lease_owner": None, "due_at": None})  # fmt: skip
    assert lease(store, "c", now=NOW + 90) is None
    assert store.get_run("run_1").status is RunStatus.COMPLETED


def test_lease_run_takes_a_run_waiting_with_no_resume_time(store: Any) -> None:
    store.create_run(new_run())
    take(store, "a")
    waiting = {"status": RunStatus.WAITING, "resume_at": None, "due_at": None,
               "lease_owner": None, "lease_expires_at": None}  # fmt: skip
    store.update_run("run_1", owner="a", changes=waiting)  # woken by an event, say
    assert lease(store, "b", now=NOW + 5).lease_owner == "b"


def test_lease_run_lets_one_of_many_racers_win(store: Any) -> None:
    store.create_run(new_run())
    with ThreadPoolExecutor(max_workers=8) as pool:
        won = [r for r in pool.map(lambda n: lease(store, f"o{n}"), range(8)) if r is not None]
    assert len(won) == 1
    assert store.get_run("run_1").lease_owner == won[0].lease_owner


def test_update_run_is_fenced_on_the_lease(store: Any) -> None:
    store.create_run(new_run())
    take(store, "a")
    assert not store.update_run("run_1", owner="b", changes={"status": RunStatus.COMPLETED})
    released = {"status": RunStatus.WAITING, "resume_at": NOW + 5, "due_at": NOW + 5,
                "lease_owner": None, "lease_expires_at": None}
    assert store.update_run("run_1", owner="a", changes=released)
    run = store.get_run("run_1")
    assert (run.status, run.resume_at, run.lease_owner) == (RunStatus.WAITING, NOW + 5, None)
    assert not store.update_run("run_1", owner="a", changes={"status": RunStatus.COMPLETED})
    assert take(store, "b", now=NOW + 6).lease_owner == "b"


def test_final_runs_cannot_be_leased_or_cancelled(store: Any) -> None:
    store.create_run(new_run())
    take(store, "a")
    store.update_run(
        "run_1", owner="a",
        changes={"status": RunStatus.COMPLETED, "output_json": "[1]", "lease_owner": None,
                 "due_at": None},
    )
    assert take(store, "b") is None
    assert store.cancel_run("run_1", now=NOW) is None
    assert store.get_run("run_1").output_json == "[1]"


def test_cancel_wins_over_a_running_invocation(store: Any) -> None:
    store.create_run(new_run())
    take(store, "a")
    canceled = store.cancel_run("run_1", now=NOW + 1)
    assert canceled.status is RunStatus.CANCELED and canceled.completed_at == NOW + 1
    assert not store.update_run("run_1", owner="a", changes={"status": RunStatus.COMPLETED})
    assert store.list_due_runs(now=NOW + 10_000, limit=10) == []


def test_a_final_task_record_is_never_overwritten(store: Any) -> None:
    assert store.put_task(task("t", TaskStatus.COMPLETED, output_json='"first"'))
    assert not store.put_task(task("t", TaskStatus.COMPLETED, output_json='"second"'))
    assert not store.put_task(task("t", TaskStatus.ERRORED, attempts=5))
    assert store.get_task("run_1", "id-t").output_json == '"first"'


def test_a_task_attempt_never_replaces_a_later_one(store: Any) -> None:
    assert store.put_task(task("t", TaskStatus.WAITING, attempts=2, resume_at=NOW))
    assert not store.put_task(task("t", TaskStatus.WAITING, attempts=1))
    assert store.put_task(task("t", TaskStatus.COMPLETED, attempts=3, output_json="1"))
    assert store.get_task("run_1", "id-t").attempts == 3


def test_history_loads_tasks_and_logs_and_pages_through_three_megabytes(store: Any) -> None:
    store.create_run(new_run())
    blob = '"' + "x" * 10_000 + '"'  # 300 tasks of 10 KB: DynamoDB pages a query at 1 MB
    records = [task(f"t{n:04d}", TaskStatus.COMPLETED, output_json=blob) for n in range(300)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(store.put_task, records))
    store.put_logs([LogRecord(run_id="run_1", key=f"run#{n:06d}", level="INFO", message=f"m{n}",
                              time=NOW + n, fields={"n": n}) for n in range(30)])

    history = store.load_history("run_1")

    assert len(history.tasks) == 300
    assert history.tasks["id-t0299"].output_json == blob
    assert len(history.logs) == 30 and history.logs["run#000029"].fields == {"n": 29}
    if type(store).__name__ == "DynamoDBStore":
        assert history.pages >= 3, "3 MB of history must come back over several query pages"


def test_events_are_created_once(store: Any) -> None:
    event = EventRecord(id="e1", name="x", timestamp=NOW, payload_json="{}", run_ids=("r1", "r2"))
    assert store.create_event(event)
    assert not store.create_event(EventRecord(id="e1", name="y", timestamp=NOW))
    assert store.get_event("e1") == event
    assert store.get_event("e2") is None


def test_due_runs_are_the_pending_waiting_and_expired_ones(store: Any) -> None:
    store.create_run(new_run("run_1"))
    store.create_run(new_run("run_2", due_at=NOW + 100))
    store.create_run(new_run("run_3", due_at=None))
    assert store.list_due_runs(now=NOW, limit=10) == ["run_1"]
    assert store.list_due_runs(now=NOW + 100, limit=10) == ["run_1", "run_2"]


def test_schedule_slots_are_claimed_once(store: Any) -> None:
    assert store.claim_slot("job", "2026-01-01T00:00", expires_at=NOW)
    assert not store.claim_slot("job", "2026-01-01T00:00", expires_at=NOW)
    assert store.claim_slot("job", "2026-01-01T00:01", expires_at=NOW)


def test_a_malformed_cursor_is_a_clear_error(store: Any) -> None:
    with pytest.raises(ValueError, match="cursor"):
        store.list_runs(job_id=None, status=None, limit=5, cursor="not-a-cursor")


def listed(store: Any, *, limit: int, job_id: str | None = None,
           status: RunStatus | None = None) -> list[list[str]]:  # fmt: skip
    """Every page of a listing, as run ids."""
    pages: list[list[str]] = []
    cursor = None
    while True:
        runs, cursor = store.list_runs(job_id=job_id, status=status, limit=limit, cursor=cursor)
        pages.append([run.id for run in runs])
        if cursor is None:
            return pages


def test_listings_page_newest_first_across_shards_without_repeats_or_gaps(store: Any) -> None:
    created = {}
    for n in range(53):  # ties in creation time are ordered by id
        run = new_run(f"run_{n:03d}", created_at=NOW + n // 3, job_id=f"job{n % 2}",
                      status=RunStatus.COMPLETED if n % 5 == 0 else RunStatus.PENDING)
        store.create_run(run)
        created[run.id] = run
    newest_first = sorted(created, key=lambda i: (created[i].created_at, i), reverse=True)

    pages = listed(store, limit=10)
    assert [len(p) for p in pages] == [10, 10, 10, 10, 10, 3]
    assert [i for page in pages for i in page] == newest_first
    assert [i for p in listed(store, limit=7, job_id="job1") for i in p] == [
        i for i in newest_first if created[i].job_id == "job1"
    ]
    done = [i for p in listed(store, limit=4, status=RunStatus.COMPLETED) for i in p]
    assert done == [i for i in newest_first if created[i].status is RunStatus.COMPLETED]
    assert listed(store, limit=100) == [newest_first]


def test_runs_created_while_paging_never_repeat_or_hide_older_ones(store: Any) -> None:
    for n in range(30):
        store.create_run(new_run(f"run_{n:03d}", created_at=NOW + n))
    seen: list[str] = []
    runs, cursor = store.list_runs(job_id=None, status=None, limit=8, cursor=None)
    seen += [r.id for r in runs]
    while cursor is not None:
        store.create_run(new_run(f"late_{len(seen)}", created_at=NOW + 1000 + len(seen)))
        runs, cursor = store.list_runs(job_id=None, status=None, limit=8, cursor=cursor)
        seen += [r.id for r in runs]
    assert seen == [f"run_{n:03d}" for n in reversed(range(30))]


@pytest.mark.parametrize("crafted", [
    "x" * 5000,
    "W" * 40,
    "WzFd",  # [1]
    "eyJiZWZvcmUiOiAxfQ",  # {"before": 1}
    "eyJiZWZvcmUiOiJ4In0",  # {"before": "x"}
    "W" + "1s" * 300,
])  # fmt: skip
def test_a_crafted_cursor_is_a_clear_error(store: Any, crafted: str) -> None:
    import base64

    deep = base64.urlsafe_b64encode(b"[" * 5000).decode()
    for cursor in (crafted, deep):
        with pytest.raises(ValueError, match="cursor is not one this store issued"):
            store.list_runs(job_id=None, status=None, limit=5, cursor=cursor)


def test_due_runs_come_soonest_first_from_every_shard(store: Any) -> None:
    for n in range(40):
        store.create_run(new_run(f"run_{n:03d}", due_at=NOW + (n * 7) % 40))
    due = store.list_due_runs(now=NOW + 100, limit=15)
    assert len(due) == 15
    dues = [store.get_run(i).due_at for i in due]
    assert dues == sorted(dues) and dues[-1] == NOW + 14
    assert len(store.list_due_runs(now=NOW + 100, limit=100)) == 40


def test_queued_runs_are_listed_oldest_first_per_job_and_are_not_due(store: Any) -> None:
    queued = {"status": RunStatus.QUEUED, "resume_at": None, "due_at": None,
              "lease_owner": None, "lease_expires_at": None}  # fmt: skip
    for n in (3, 0, 4, 1, 2):  # queued out of creation order, spread over the shards
        run_id = f"run_q{n}"
        store.create_run(new_run(run_id, created_at=NOW + n))
        store.acquire_lease(run_id, owner="a", now=NOW + 9, lease_expires_at=NOW + 60,
                            expired_owner=None)  # fmt: skip
        assert store.update_run(run_id, owner="a", changes=queued)
    store.create_run(new_run("run_other", job_id="other", created_at=NOW))
    store.create_run(new_run("run_pending", created_at=NOW - 1))

    assert store.list_queued_runs("job", limit=10) == [f"run_q{n}" for n in range(5)]
    assert store.list_queued_runs("job", limit=2) == ["run_q0", "run_q1"]
    assert store.list_queued_runs("other", limit=10) == []
    assert not {f"run_q{n}" for n in range(5)} & set(store.list_due_runs(now=NOW + 100, limit=50))

    store.acquire_lease("run_q0", owner="b", now=NOW + 10, lease_expires_at=NOW + 60,
                        expired_owner=None)  # fmt: skip
    store.cancel_run("run_q1", now=NOW + 10)
    assert store.list_queued_runs("job", limit=10) == ["run_q2", "run_q3", "run_q4"]

    assert store.wake_queued_run("run_q2", at=NOW + 20)
    assert not store.wake_queued_run("run_q0", at=NOW + 20)  # leased (EXECUTING), not QUEUED
    assert store.list_queued_runs("job", limit=10) == ["run_q3", "run_q4"]
    assert "run_q2" in store.list_due_runs(now=NOW + 20, limit=50)


def test_a_connection_is_never_replaced_by_an_older_write(store: Any) -> None:
    first = ConnectionRecord(name="github", sealed="v1.aaa", created_at=NOW, updated_at=NOW)
    assert store.put_connection(first)
    newer = ConnectionRecord(name="github", sealed="v1.bbb", created_at=NOW, updated_at=NOW + 5)
    assert store.put_connection(newer)
    older = ConnectionRecord(name="github", sealed="v1.old", created_at=NOW, updated_at=NOW + 1)
    assert not store.put_connection(older)
    assert store.get_connection("github") == newer
    assert store.get_connection("slack") is None
    store.put_connection(ConnectionRecord(name="airtable", sealed="v1.c", created_at=NOW,
                                          updated_at=NOW))  # fmt: skip
    assert [c.name for c in store.list_connections()] == ["airtable", "github"]


def test_runs_waiting_on_a_connection_are_indexed_once_by_name(store: Any) -> None:
    for n in range(6):  # spread over the shards
        wait = ConnectionWaitRecord(name="github", run_id=f"run_{n}", created_at=NOW + n)
        assert store.put_connection_wait(wait)
        assert not store.put_connection_wait(wait), "already indexed"
    store.put_connection_wait(ConnectionWaitRecord(name="git", run_id="run_9", created_at=NOW))

    waits = store.list_connection_waits("github")
    assert [w.run_id for w in waits] == [f"run_{n}" for n in range(6)]
    assert waits[2] == ConnectionWaitRecord(name="github", run_id="run_2", created_at=NOW + 2)
    store.delete_connection_wait("github", "run_2")
    store.delete_connection_wait("github", "run_absent")
    assert [w.run_id for w in store.list_connection_waits("github")] == [
        "run_0", "run_1", "run_3", "run_4", "run_5"]
    assert [w.run_id for w in store.list_connection_waits("git")] == ["run_9"]
    assert store.list_connection_waits("slack") == []


def test_wake_run_brings_a_run_waiting_on_connections_forward(store: Any) -> None:
    store.create_run(new_run())
    take(store, "a")
    waiting = {"status": RunStatus.WAITING_ON_CONNECTIONS, "resume_at": None, "due_at": None,
               "lease_owner": None, "lease_expires_at": None}  # fmt: skip
    assert store.update_run("run_1", owner="a", changes=waiting)
    assert "run_1" not in store.list_due_runs(now=NOW + 10**6, limit=50), "never polled"

    assert store.wake_run("run_1", at=NOW + 3, now=NOW + 3) == "woken"
    assert store.get_run("run_1").due_at == NOW + 3
    assert "run_1" in store.list_due_runs(now=NOW + 3, limit=50)
    assert lease(store, "b", now=NOW + 3).status is RunStatus.EXECUTING
