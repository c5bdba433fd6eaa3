"""A task's row text: orjson where installed (the `fast` extra), the json module otherwise.

Either way the row reads back as the same record, and SQLite's JSON functions (put_task's
condition) accept it; what orjson would write differently falls back to the json module.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest
from triggerfish.core.store import sqlite_rows
from triggerfish.core.store.base import TaskRecord
from triggerfish.core.store.sqlite_rows import dump, dump_task, load_task
from triggerfish.core.types import TaskStatus

assert sqlite_rows._fast_dumps is not None, "orjson is missing: `make dev` installs it"


def _task(**fields: Any) -> TaskRecord:
    values: dict[str, Any] = {
        "run_id": "run_1", "id": "a" * 32, "key": "s5", "status": TaskStatus.COMPLETED,
        "attempts": 1, "output_json": "5", "started_at": 1796617381.3919404,
        "completed_at": 1796617381.3919673,
    }  # fmt: skip
    values.update(fields)
    return TaskRecord(**values)


@pytest.fixture(params=["orjson", "json module"])
def encoder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "json module":
        monkeypatch.setattr(sqlite_rows, "_fast_dumps", None)
    return str(request.param)


PLAIN = [
    _task(),
    _task(status=TaskStatus.RUNNING, output_json=None, completed_at=None, in_flight=True),
    _task(status=TaskStatus.WAITING, resume_at=1796617400.5, attempts=3, attempt_base=2),
    _task(key="grüße ✓", name="Send 📧", icon="mail", parent_id="b" * 32, kind="fetch"),
    _task(output_json=json.dumps({"big": 10**30, "text": "naïve"}), child_run_id="run_2"),
]


@pytest.mark.parametrize("task", PLAIN, ids=lambda t: t.key)
def test_a_plain_task_row_reads_back_as_the_same_record(task: TaskRecord, encoder: str) -> None:
    text = dump_task(task)
    assert load_task(text) == task
    assert json.loads(text) == json.loads(dump(task))


def test_orjson_writes_the_plain_row_and_keeps_non_ascii_text_as_utf8() -> None:
    text = dump_task(_task(key="grüße"))
    assert '"key":"grüße"' in text  # orjson's; the json module writes \\u00fc
    assert load_task(text).key == "grüße"


@pytest.mark.parametrize(
    "task",
    [
        _task(status=TaskStatus.ERRORED, error={"type": "ValueError", "message": "no such user"}),
        _task(properties=[{"label": "user", "text": "ada"}]),
        _task(name="lone \ud800 surrogate"),
        _task(attempts=10**20),
        _task(status=TaskStatus.WAITING, resume_at=float("inf")),
    ],
    ids=["error", "properties", "surrogate", "int past 64 bits", "infinite time"],
)
def test_what_orjson_would_write_differently_is_written_by_the_json_module(
    task: TaskRecord,
) -> None:
    assert dump_task(task) == dump(task)


def test_sqlite_reads_the_row_s_status_and_attempts(encoder: str) -> None:
    db = sqlite3.connect(":memory:")
    text = dump_task(_task(attempts=4))
    status, attempts = db.execute(
        "SELECT json_extract(?, '$.status'), json_extract(?, '$.attempts')", (text, text)
    ).fetchone()
    assert (status, attempts) == ("COMPLETED", 4)
