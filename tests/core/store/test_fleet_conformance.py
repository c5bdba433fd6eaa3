"""Conformance of the fleet primitives (issue 19): paused jobs, runs created QUEUED, schedules."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from triggerfish.core.store.base import RunRecord
from triggerfish.core.store.fleet import ScheduleRecord
from triggerfish.core.types import RunStatus

NOW = 1_800_000_000.0


def test_pausing_and_resuming_a_job_each_change_its_state_once(store: Any) -> None:
    assert store.get_job_paused_at("job") is None
    assert store.set_job_paused("job", paused=True, now=NOW)
    assert not store.set_job_paused("job", paused=True, now=NOW + 1)  # already paused
    assert store.get_job_paused_at("job") == NOW
    assert store.get_job_paused_at("other") is None
    assert store.set_job_paused("job", paused=False, now=NOW + 2)
    assert not store.set_job_paused("job", paused=False, now=NOW + 3)
    assert store.get_job_paused_at("job") is None


def test_a_run_created_queued_waits_in_its_jobs_queue_until_woken(store: Any) -> None:
    for n in range(3):
        assert store.create_run(RunRecord(id=f"run_{n}", job_id="job", status=RunStatus.QUEUED,
                                          created_at=NOW + n))  # fmt: skip
    assert store.list_queued_runs("job", limit=10) == ["run_0", "run_1", "run_2"]
    assert store.list_due_runs(now=NOW + 100, limit=10) == []
    assert store.wake_queued_run("run_0", at=NOW + 5)
    assert store.list_queued_runs("job", limit=10) == ["run_1", "run_2"]
    assert store.list_due_runs(now=NOW + 100, limit=10) == ["run_0"]


def test_schedules_are_created_once_replaced_at_their_version_listed_and_deleted(store: Any) -> None:
    first = ScheduleRecord(id="s1", job_id="job", created_at=NOW, cron="0 * * * *",
                           payload_json='{"tenant":"a"}')  # fmt: skip
    assert store.put_schedule(first, expected_version=None)
    assert not store.put_schedule(replace(first, cron="5 * * * *"), expected_version=None)
    paused = replace(first, paused=True, version=2)
    assert not store.put_schedule(paused, expected_version=7)  # not the version stored
    assert store.put_schedule(paused, expected_version=1)
    assert not store.put_schedule(replace(paused, version=3), expected_version=1)  # lost race
    assert store.get_schedule("s1") == paused
    other = ScheduleRecord(id="s0", job_id="other", created_at=NOW, interval_seconds=60.0)
    assert store.put_schedule(other, expected_version=None)
    assert store.list_schedules() == [other, paused]
    assert store.delete_schedule("s1")
    assert not store.delete_schedule("s1")
    assert store.get_schedule("s1") is None
    assert store.list_schedules() == [other]
