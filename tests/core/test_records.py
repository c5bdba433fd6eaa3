"""The store's records and the triggers are frozen dataclasses (core/records.py `@record`):
what a custom store or a job's code can rely on when it holds one."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest
from triggerfish.core.store.base import LogRecord, RunRecord, TaskRecord
from triggerfish.core.triggers import webhook_trigger
from triggerfish.core.types import RunStatus, TaskStatus


def task(**changes: object) -> TaskRecord:
    return dataclasses.replace(TaskRecord("run-1", "t1", "fetch", TaskStatus.RUNNING), **changes)


def test_a_record_cannot_be_changed_or_given_new_attributes() -> None:
    record = task()
    with pytest.raises(dataclasses.FrozenInstanceError, match="'status'"):
        record.status = TaskStatus.COMPLETED  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError, match="'key'"):
        del record.key  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError, match="'note'"):
        record.note = "x"  # type: ignore[attr-defined]
    assert record.status is TaskStatus.RUNNING


def test_replace_makes_a_changed_copy_and_leaves_the_original() -> None:
    record = task()
    done = dataclasses.replace(record, status=TaskStatus.COMPLETED, output_json="1")
    assert (done.status, done.output_json, done.key) == (TaskStatus.COMPLETED, "1", "fetch")
    assert record.status is TaskStatus.RUNNING and record.output_json is None


def test_records_compare_and_hash_by_their_fields_and_class() -> None:
    assert task() == TaskRecord(run_id="run-1", id="t1", key="fetch", status=TaskStatus.RUNNING)
    assert hash(task()) == hash(task())
    assert task() != task(attempts=1)
    assert len({task(), task(), task(attempts=1)}) == 2
    assert task() != object()


def test_defaults_and_default_factories_fill_unnamed_fields_afresh() -> None:
    run = RunRecord("run-1", "job", RunStatus.PENDING, created_at=1.0)
    assert (run.payload_json, run.retries, run.output_json) == ("null", 0, None)
    first, second = (LogRecord("run-1", f"l{n}", "INFO", "hi", 1.0) for n in (1, 2))
    first.fields["seen"] = True
    assert second.fields == {} and first.task_key is None
    assert LogRecord("run-1", "l3", "INFO", "hi", 1.0, {"a": 1}).fields == {"a": 1}
    with pytest.raises(TypeError, match="missing 3 required positional arguments"):
        TaskRecord("run-1")  # type: ignore[call-arg]


def test_a_record_survives_pickle_copy_and_asdict() -> None:
    record = task(properties=[{"label": "a", "text": "b"}])
    assert pickle.loads(pickle.dumps(record)) == record
    assert copy.deepcopy(record) == record
    assert dataclasses.asdict(record)["properties"] == [{"label": "a", "text": "b"}]
    assert [f.name for f in dataclasses.fields(record)][:4] == ["run_id", "id", "key", "status"]


def test_repr_shows_fields_in_order_and_hides_secrets() -> None:
    assert repr(task()).startswith("TaskRecord(run_id='run-1', id='t1', key='fetch', status=")
    shown = repr(webhook_trigger("hook", secret="s3cret"))
    assert "WebhookTrigger(" in shown and "s3cret" not in shown


def test_a_frozen_dataclass_may_extend_a_record_and_a_plain_one_may_not() -> None:
    @dataclasses.dataclass(frozen=True)
    class NotedTask(TaskRecord):
        note: str = ""

    noted = NotedTask("run-1", "t1", "fetch", TaskStatus.RUNNING, note="hi")
    assert (noted.key, noted.note) == ("fetch", "hi")
    with pytest.raises(dataclasses.FrozenInstanceError):
        noted.note = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError, match="non-frozen dataclass from a frozen one"):

        @dataclasses.dataclass
        class Mutable(TaskRecord):
            note: str = ""
