"""io.invoke_and_wait: a child run started once, its end waking the parent (every store)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel
from support.jobs import make_client
from triggerfish.core import IO, Context, RunStatus, TaskFailed, TaskStatus, invoke_trigger
from triggerfish.core.testing import drive


def define_jobs(client: Any, child_body: Any, schema: type[BaseModel] | None = None) -> None:
    @client.define_job(id="child", trigger=invoke_trigger(schema=schema))
    async def child(payload: Any, io: IO, ctx: Context) -> Any:
        return await child_body(payload, io)

    @client.define_job(id="parent", trigger=invoke_trigger())
    async def parent(payload: Any, io: IO, ctx: Context) -> Any:
        try:
            got = await io.invoke_and_wait("kid", "child", {"n": 21})
        except TaskFailed as exc:
            return {"failed": exc.error}
        return {"got": got}


async def child_runs(client: Any) -> list[Any]:
    return list(await client.list_runs(job_id="child"))


async def test_the_child_runs_once_and_its_end_wakes_the_parent_with_its_output(
    store: Any,
) -> None:
    client = make_client(store)

    async def double(payload: Any, io: IO) -> Any:
        return await io.run_task("double", lambda: payload["n"] * 2)

    define_jobs(client, double)
    parent = await client.invoke("parent", None)
    first = await client.execute(parent.id)
    assert first.status is RunStatus.WAITING
    again = await client.execute(parent.id, deadline=None)  # woken early: nothing new
    assert again.status is RunStatus.WAITING
    (child,) = await child_runs(client)
    assert child.parent_run_id == parent.id and child.payload == {"n": 21}

    waiting = await client.get_run(parent.id)
    (kid,) = waiting.tasks
    assert kid.kind == "invoke" and kid.status is TaskStatus.WAITING
    assert kid.child_run_id == child.id

    assert (await drive(client, child.id)).status is RunStatus.COMPLETED
    woken = client.store.get_run(parent.id)
    assert woken.resume_at <= client.clock.time()
    report = await drive(client, parent.id)
    assert report.status is RunStatus.COMPLETED
    assert len(report.invocations) == 1  # woken by the child, not by the recheck timer
    finished = await client.get_run(parent.id)
    assert finished.output == {"got": 42}
    assert finished.tasks[0].child_run_id == child.id
    assert len(await child_runs(client)) == 1


@pytest.mark.parametrize("end", ["fail", "cancel"])
async def test_a_child_that_does_not_complete_raises_task_failed_naming_it(
    store: Any, end: str
) -> None:
    client = make_client(store)

    async def body(payload: Any, io: IO) -> Any:
        if end == "fail":
            raise RuntimeError("child broke")
        await io.wait("forever", seconds=86400)

    define_jobs(client, body)
    parent = await client.invoke("parent", None)
    assert (await client.execute(parent.id)).status is RunStatus.WAITING
    (child,) = await child_runs(client)
    if end == "fail":
        await drive(client, child.id)
        status = "FAILED"
    else:
        await client.execute(child.id)
        await client.cancel_run(child.id)
        status = "CANCELED"
    await drive(client, parent.id)
    finished = await client.get_run(parent.id)
    assert finished.status is RunStatus.COMPLETED
    error = finished.output["failed"]
    assert error["type"] == "ChildRunFailed"
    assert error["run_id"] == child.id and error["status"] == status
    assert child.id in error["message"] and status in error["message"]


async def test_a_child_that_ends_before_the_parent_suspends_is_seen_at_once(store: Any) -> None:
    class Needs(BaseModel):
        m: int

    client = make_client(store)

    async def body(payload: Any, io: IO) -> Any:
        return payload

    define_jobs(client, body, schema=Needs)  # {"n": 21} is INVALID_PAYLOAD at creation
    parent = await client.invoke("parent", None)
    report = await drive(client, parent.id)
    assert len(report.invocations) == 1
    finished = await client.get_run(parent.id)
    assert finished.output["failed"]["status"] == "INVALID_PAYLOAD"


async def test_a_crash_between_the_child_end_and_the_parent_record_is_recovered_by_recheck(
    store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from triggerfish.core import ends

    client = make_client(store)

    async def crash(runtime: Any, child: Any) -> None:
        return None  # the process died right after the child's end write

    monkeypatch.setattr(ends, "notify_parent", crash)

    async def body(payload: Any, io: IO) -> Any:
        return "late"

    define_jobs(client, body)
    parent = await client.invoke("parent", None)
    assert (await client.execute(parent.id)).status is RunStatus.WAITING
    (child,) = await child_runs(client)
    await drive(client, child.id)
    assert (await client.get_run(parent.id)).status is RunStatus.WAITING
    report = await drive(client, parent.id)  # the clock skips to the recheck
    assert report.status is RunStatus.COMPLETED
    assert (await client.get_run(parent.id)).output == {"got": "late"}


async def test_an_unknown_job_fails_the_parent_naming_it(store: Any) -> None:
    client = make_client(store)

    @client.define_job(id="parent", trigger=invoke_trigger())
    async def parent(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.invoke_and_wait("kid", "nope", None)

    run = await client.invoke("parent", None)
    await drive(client, run.id)
    failed = await client.get_run(run.id)
    assert failed.status is RunStatus.FAILED and "nope" in failed.error["message"]
    assert failed.tasks == []


async def test_the_coordination_example_runs_to_the_end(tmp_path: Any) -> None:
    from triggerfish.core import SQLiteStore

    from examples.coordination import define_coordination_jobs

    client = make_client(SQLiteStore(tmp_path / "ex.db"))
    define_coordination_jobs(client)
    run = await client.invoke("crawl-site", {"urls": ["a", "b", "c"]})
    assert (await client.execute(run.id)).status is RunStatus.WAITING
    (child,) = await client.list_runs(job_id="make-thumbnails")
    await drive(client, child.id)
    await drive(client, run.id)
    finished = await client.get_run(run.id)
    assert finished.status is RunStatus.COMPLETED
    assert finished.output["images"] == ["a.png", "b.png", "c.png"]
    assert finished.output["sample"] in ["a", "b", "c"]
    assert finished.statuses[0].label == "Crawled"


async def test_drive_on_the_parent_drives_the_child_it_waits_for(store: Any) -> None:
    client = make_client(store)

    async def slow_double(payload: Any, io: IO) -> Any:
        await io.wait("a day", seconds=86400)
        return await io.run_task("double", lambda: payload["n"] * 2)

    define_jobs(client, slow_double)
    parent = await client.invoke("parent", None)
    report = await drive(client, parent.id)

    assert report.status is RunStatus.COMPLETED
    assert (await client.get_run(parent.id)).output == {"got": 42}
    (child,) = await child_runs(client)
    assert list(report.children) == [child.id]
    assert report.children[child.id].status is RunStatus.COMPLETED
    assert report.children[child.id].suspensions == 1  # the day, skipped


async def test_drive_stops_where_the_child_waits_for_an_outside_answer(store: Any) -> None:
    from triggerfish.core.testing import answer_request

    client = make_client(store)
    client.base_url = "http://jobs.test"  # the callback URL's base

    async def ask(payload: Any, io: IO) -> Any:
        return await io.wait_for_request("approval", lambda url: None, timeout=3600)

    define_jobs(client, ask)
    parent = await client.invoke("parent", None)
    report = await drive(client, parent.id)

    assert report.status is RunStatus.WAITING and report.waiting_for == ["approval"]
    (child_id,) = report.children
    assert report.children[child_id].waiting_for == ["approval"]
    await answer_request(client, child_id, "approval", {"ok": True})
    assert (await drive(client, parent.id)).status is RunStatus.COMPLETED
    assert (await client.get_run(parent.id)).output == {"got": {"ok": True}}
