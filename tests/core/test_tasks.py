"""Tasks, subtasks, waits, keys, outputs and logs as a run function sees them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic
import pytest
from support.jobs import make_client
from triggerfish.core import IO, Context, RunStatus, SQLiteStore, TaskStatus, invoke_trigger
from triggerfish.core.testing import drive


class Order(pydantic.BaseModel):
    id: uuid.UUID
    placed_at: datetime
    total: float


@pytest.fixture
def client(tmp_path: Any) -> Any:
    return make_client(SQLiteStore(tmp_path / "runs.db"))


async def test_outputs_serialize_models_datetimes_and_uuids_as_json(client: Any) -> None:
    order = Order(id=uuid.UUID(int=7), placed_at=datetime(2026, 1, 2, tzinfo=UTC), total=9.5)

    @client.define_job(id="json", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.run_task("order", lambda: order)

    run = await client.invoke("json", None)
    await drive(client, run.id)

    finished = await client.get_run(run.id)
    assert finished.output == {
        "id": "00000000-0000-0000-0000-000000000007",
        "placed_at": "2026-01-02T00:00:00Z",
        "total": 9.5,
    }


async def test_unserializable_output_fails_the_task_naming_key_and_type(client: Any) -> None:
    class Opaque:
        pass

    @client.define_job(id="opaque", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.run_task("handle", lambda: Opaque())

    run = await client.invoke("opaque", None)
    report = await drive(client, run.id)

    assert report.status is RunStatus.FAILED
    (task,) = (await client.get_run(run.id)).tasks
    assert task.status is TaskStatus.ERRORED
    assert task.error is not None
    assert "'handle'" in task.error["message"] and "Opaque" in task.error["message"]


async def test_subtasks_form_a_tree_and_replay_inside_their_parent(client: Any) -> None:
    calls: list[str] = []

    @client.define_job(id="tree", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        async def parent() -> list[int]:
            calls.append("parent")
            first = await io.run_task("child", lambda: calls.append("a") or 1)
            await io.wait("nap", seconds=10)
            second = await io.run_task("child-2", lambda: calls.append("b") or 2)
            return [first, second]

        return await io.run_task("parent", parent)

    run = await client.invoke("tree", None)
    report = await drive(client, run.id)

    assert report.status is RunStatus.COMPLETED
    assert calls == ["parent", "a", "parent", "b"]
    finished = await client.get_run(run.id)
    (parent,) = finished.tasks
    assert parent.output == [1, 2]
    assert [c.key for c in parent.children] == ["child", "nap", "child-2"]


async def test_same_key_under_different_parents_is_allowed(client: Any) -> None:
    @client.define_job(id="scoped", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        async def a() -> Any:
            return await io.run_task("step", lambda: "a")

        async def b() -> Any:
            return await io.run_task("step", lambda: "b")

        return [await io.run_task("a", a), await io.run_task("b", b)]

    run = await client.invoke("scoped", None)
    await drive(client, run.id)
    assert (await client.get_run(run.id)).output == ["a", "b"]


async def test_reusing_a_key_fails_the_run_with_a_clear_error(client: Any) -> None:
    @client.define_job(id="dupes", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        await io.run_task("same", lambda: 1)
        await io.run_task("same", lambda: 2)

    run = await client.invoke("dupes", None)
    report = await drive(client, run.id)

    assert report.status is RunStatus.FAILED
    error = (await client.get_run(run.id)).error
    assert error is not None
    assert error["type"] == "DuplicateKeyError" and "'same'" in error["message"]


async def test_wait_until_an_aware_datetime(client: Any) -> None:
    @client.define_job(id="until", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> str:
        now = datetime.fromtimestamp(client.clock.time(), tz=UTC)
        await io.wait("tomorrow", until=now + timedelta(days=1))
        return "done"

    run = await client.invoke("until", None)
    first = await client.execute(run.id)
    assert first.status is RunStatus.WAITING
    assert first.resume_at is not None
    assert first.resume_at - client.clock.time() == pytest.approx(86400, abs=5)


async def test_wait_rejects_a_naive_datetime_and_both_arguments(client: Any) -> None:
    @client.define_job(id="naive", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> None:
        await io.wait("bad", until=datetime(2030, 1, 1))

    run = await client.invoke("naive", None)
    await drive(client, run.id)
    error = (await client.get_run(run.id)).error
    assert error is not None and "aware datetime" in error["message"]


async def test_log_lines_are_written_once_despite_replays(client: Any) -> None:
    @client.define_job(id="chatty", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> None:
        io.logger.info("starting", user="ada")

        async def step() -> int:
            io.logger.debug("inside the task")
            return 1

        await io.run_task("step", step)
        await io.wait("pause", seconds=5)
        io.logger.warn("resumed")  # noqa: G010 - DESIGN.md names io.logger.warn

    run = await client.invoke("chatty", None)
    report = await drive(client, run.id)

    assert len(report.invocations) == 2
    logs = (await client.get_run(run.id)).logs
    assert [(log.level, log.message) for log in logs] == [
        ("INFO", "starting"),
        ("DEBUG", "inside the task"),
        ("WARN", "resumed"),
    ]
    assert logs[0].fields == {"user": "ada"}
    assert logs[1].task_key == "step"


async def test_context_carries_run_job_environment_and_event(tmp_path: Any) -> None:
    client = make_client(SQLiteStore(tmp_path / "ctx.db"), environment="prod", organization="acme")
    seen: list[Context] = []

    @client.define_job(id="ctx", version="1.2.3", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> None:
        seen.append(ctx)

    run = await client.invoke("ctx", None)
    await drive(client, run.id)

    (ctx,) = seen
    assert (ctx.run.id, ctx.run.invocation) == (run.id, 1)
    assert (ctx.job.id, ctx.job.version) == ("ctx", "1.2.3")
    assert (ctx.environment, ctx.organization) == ("prod", "acme")


async def test_user_except_exception_cannot_swallow_a_suspension(client: Any) -> None:
    @client.define_job(id="greedy", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> str:
        try:
            await io.wait("nap", seconds=100)
        except Exception:  # noqa: BLE001 - the point: a catch-all must not see it
            return "swallowed"
        return "waited"

    run = await client.invoke("greedy", None)
    first = await client.execute(run.id)
    assert first.status is RunStatus.WAITING
    await drive(client, run.id)
    assert (await client.get_run(run.id)).output == "waited"


async def test_a_task_returns_the_same_values_and_types_when_run_and_when_replayed(
    client: Any,
) -> None:
    """What `io.run_task` returns is its output with its types (tuples stay tuples, issue
    18 item 3), the first time as on replay."""
    outputs = [7, -0.0, 1e16, 2**80, True, None, "tëxt ☃", (1, 2), {"a": (3,)}, [1.5, "x"]]
    seen: list[list[Any]] = []

    @client.define_job(id="values", trigger=invoke_trigger())
    async def values(payload: Any, io: IO, ctx: Context) -> None:
        got = [await io.run_task(f"v{n}", lambda out=out: out) for n, out in enumerate(outputs)]
        seen.append(got)
        await io.wait("pause", seconds=1)

    run = await client.invoke("values", None)
    await drive(client, run.id)
    first, replayed = seen[0], seen[-1]
    assert len(seen) >= 2
    assert first == replayed == [7, -0.0, 1e16, 2**80, True, None, "tëxt ☃", (1, 2),
                                 {"a": (3,)}, [1.5, "x"]]  # fmt: skip
    assert [type(v) for v in first] == [type(v) for v in replayed]
    assert str(first[1]) == str(replayed[1]) == "-0.0"
