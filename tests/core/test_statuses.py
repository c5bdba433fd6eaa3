"""io.create_status: each change recorded once; Run.statuses with history (every store)."""

from __future__ import annotations

from typing import Any

import pytest
from support.jobs import make_client
from triggerfish.core import IO, Context, RunStatus, invoke_trigger
from triggerfish.core.testing import drive


async def test_status_updates_are_recorded_once_and_listed_with_their_history(store: Any) -> None:
    client = make_client(store)
    labels_seen: list[str] = []

    @client.define_job(id="status", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        status = await io.create_status("import", label="Loading rows", state="loading",
                                        data={"rows": 0})  # fmt: skip
        await status.update("half", data={"rows": 50})
        labels_seen.append(status.label)
        await io.wait("nap", seconds=60)
        await status.update("done", label="Imported", state="success", data={"rows": 100})
        return status.state

    run = await client.invoke("status", None)
    mid = await client.execute(run.id)
    assert mid.status is RunStatus.WAITING
    waiting = await client.get_run(run.id)
    (status,) = waiting.statuses
    assert (status.key, status.label, status.state, status.data) == (
        "import", "Loading rows", "loading", {"rows": 50})  # fmt: skip
    assert [h.data for h in status.history] == [{"rows": 0}]

    await drive(client, run.id)
    finished = await client.get_run(run.id)
    assert finished.output == "success"
    (status,) = finished.statuses
    assert (status.label, status.state, status.data) == ("Imported", "success", {"rows": 100})
    assert [(h.label, h.state, h.data) for h in status.history] == [
        ("Loading rows", "loading", {"rows": 0}), ("Loading rows", "loading", {"rows": 50})]  # fmt: skip
    assert all(h.time is not None for h in status.history)
    assert labels_seen == ["Loading rows", "Loading rows"]  # the replay keeps the value
    kinds = sorted(t.kind for t in finished.tasks)
    assert kinds == ["status", "status_update", "status_update", "wait"]


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"label": ""}, "label must be a non-empty string"),
        ({"label": "x", "state": "done"}, "state must be one of loading, success, failure"),
        ({"label": "x", "data": [1]}, "data must be a JSON object"),
        ({"label": "x", "data": {"f": object()}}, "status data"),
    ],
)
async def test_bad_status_fields_fail_naming_the_field(
    options: dict[str, Any], words: str, tmp_path: Any
) -> None:
    from triggerfish.core import SQLiteStore

    client = make_client(SQLiteStore(tmp_path / "s.db"))

    @client.define_job(id="bad", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        await io.create_status("s", **options)

    run = await client.invoke("bad", None)
    await drive(client, run.id)
    failed = await client.get_run(run.id)
    assert failed.status is RunStatus.FAILED
    assert words in failed.error["message"]
    assert failed.tasks == []
