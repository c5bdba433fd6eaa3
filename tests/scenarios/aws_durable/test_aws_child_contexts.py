"""AWS suite 3 (child context) mapped onto a task whose fn calls io (subtasks, waits)."""

from __future__ import annotations

import json
from typing import Any

from aws_durable_support import job, make_client, run_job
from triggerfish.core import IO, Client, Context, RetryPolicy, RunStatus, TaskFailed, TaskStatus
from triggerfish.core.testing import drive

LEASE_SKIP_SECONDS = 3600.0


class Uppercase:
    """A serdes that writes strings upper-case."""

    def serialize(self, value: Any) -> str:
        return json.dumps(value.upper() if isinstance(value, str) else value)

    def deserialize(self, text: str) -> Any:
        return json.loads(text)


def _fail() -> None:
    raise ValueError("child step broke")


async def test_3_1_a_child_with_one_step_returns_its_result(client: Client) -> None:
    @job(client)
    async def parent(payload: Any, io: IO, ctx: Context) -> Any:
        async def child() -> Any:
            return await io.run_task("step", lambda: payload)

        return await io.run_task("child", child)

    run = await run_job(client, "in-1")
    assert run.output == "in-1"
    (child,) = run.tasks
    assert [c.key for c in child.children] == ["step"]
    assert child.children[0].status is TaskStatus.COMPLETED


async def test_3_2_a_named_child(client: Client) -> None:
    @job(client)
    async def parent(payload: Any, io: IO, ctx: Context) -> Any:
        async def child() -> Any:
            return await io.run_task("step", lambda: payload["value"])

        return await io.run_task("child", child, name=payload["name"])

    run = await run_job(client, {"name": "my-child", "value": "v-2"})
    assert run.output == "v-2" and run.tasks[0].name == "my-child"


async def test_3_3_two_sequential_steps_in_a_child(client: Client) -> None:
    @job(client)
    async def parent(payload: Any, io: IO, ctx: Context) -> Any:
        async def child() -> Any:
            first = await io.run_task("one", lambda: payload)
            return await io.run_task("two", lambda: first)

        return await io.run_task("child", child)

    run = await run_job(client, "seq")
    assert run.output == "seq" and [c.key for c in run.tasks[0].children] == ["one", "two"]


async def test_3_4_a_failing_step_fails_the_child_and_the_run(client: Client) -> None:
    @job(client)
    async def parent(payload: Any, io: IO, ctx: Context) -> Any:
        async def child() -> Any:
            return await io.run_task("step", _fail)

        return await io.run_task("child", child)

    run = await run_job(client)
    assert run.status is RunStatus.FAILED
    assert run.error is not None and "child step broke" in run.error["message"]
    (child,) = run.tasks
    assert child.status is TaskStatus.ERRORED and child.children[0].status is TaskStatus.ERRORED


async def test_3_5_a_caught_child_error_lets_a_recovery_step_run(client: Client) -> None:
    @job(client)
    async def parent(payload: Any, io: IO, ctx: Context) -> Any:
        async def child() -> Any:
            return await io.run_task("step", _fail)

        try:
            return await io.run_task("child", child)
        except TaskFailed:
            return await io.run_task("recover", lambda: payload)

    run = await run_job(client, "recovered-input")
    assert (run.status, run.output) == (RunStatus.COMPLETED, "recovered-input")


async def test_3_6_nested_children(client: Client) -> None:
    @job(client)
    async def parent(payload: Any, io: IO, ctx: Context) -> Any:
        async def inner() -> Any:
            return await io.run_task("inner-step", lambda: payload)

        async def outer() -> Any:
            await io.run_task("outer-step", lambda: payload)
            return await io.run_task("inner", inner)

        return await io.run_task("outer", outer)

    run = await run_job(client, "deep")
    assert run.output == "deep"
    (outer,) = run.tasks
    assert [c.key for c in outer.children] == ["outer-step", "inner"]
    assert [c.key for c in outer.children[1].children] == ["inner-step"]


async def test_3_7_a_step_in_a_child_is_retried_and_succeeds(client: Client) -> None:
    calls: list[int] = []

    @job(client)
    async def parent(payload: Any, io: IO, ctx: Context) -> Any:
        def flaky() -> Any:
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("first attempt")
            return payload

        async def child() -> Any:
            return await io.run_task("step", flaky, retry=RetryPolicy(limit=2, min_timeout=1))

        return await io.run_task("child", child)

    run = await run_job(client, "retried")
    assert run.output == "retried" and len(calls) == 2
    assert run.tasks[0].children[0].attempts == 2


async def test_3_8_a_child_fails_once_its_steps_retries_run_out(client: Client) -> None:
    calls: list[int] = []

    @job(client)
    async def parent(payload: Any, io: IO, ctx: Context) -> Any:
        def always() -> None:
            calls.append(1)
            raise RuntimeError("always")

        async def child() -> Any:
            return await io.run_task("step", always, retry=RetryPolicy(limit=2, min_timeout=1))

        return await io.run_task("child", child)

    run = await run_job(client)
    assert run.status is RunStatus.FAILED and len(calls) == 2
    assert run.tasks[0].status is TaskStatus.ERRORED


async def test_3_9_a_replay_returns_the_childs_result_without_running_it(client: Client) -> None:
    calls: list[int] = []

    @job(client)
    async def parent(payload: Any, io: IO, ctx: Context) -> Any:
        async def child() -> Any:
            calls.append(1)
            return await io.run_task("step", lambda: payload)

        value = await io.run_task("child", child)
        await io.wait("pause", seconds=5)
        return value

    run = await run_job(client, "cached")
    assert run.output == "cached" and calls == [1]


async def test_3_10_a_step_and_a_wait_inside_a_child(client: Client) -> None:
    @job(client)
    async def parent(payload: Any, io: IO, ctx: Context) -> Any:
        async def child() -> Any:
            value = await io.run_task("step", lambda: payload)
            await io.wait("inner-wait", seconds=3)
            return value

        return await io.run_task("child", child)

    run = await client.invoke("job", "mixed")
    report = await drive(client, run.id)
    done = await client.get_run(run.id)
    assert (report.suspensions, done.output) == (1, "mixed")
    assert [(c.key, c.kind) for c in done.tasks[0].children] == [
        ("step", "task"), ("inner-wait", "wait")]


async def test_3_11_a_child_building_a_large_result_replays_it(client: Client) -> None:
    logged: list[int] = []

    @job(client)
    async def parent(payload: Any, io: IO, ctx: Context) -> Any:
        async def child() -> Any:
            io.logger.info(f"building from {payload}")
            logged.append(1)
            small = await io.run_task("step", lambda: payload)
            return small * (300_000 // len(small))

        big = await io.run_task("child", child)
        await io.wait("pause", seconds=2)
        return {"length": len(big), "head": big[:6]}

    run = await run_job(client, "abcdef")
    assert run.status is RunStatus.COMPLETED, run.error
    assert run.output == {"length": 300_000, "head": "abcdef"}
    assert [line.message for line in run.logs] == ["building from abcdef"]


async def test_3_12_a_child_cut_short_by_a_crash_runs_its_step_again(client: Client) -> None:
    second = make_client(client.store, clock=client.clock)
    calls: list[str] = []

    def define(c: Client) -> None:
        @job(c)
        async def parent(payload: Any, io: IO, ctx: Context) -> Any:
            async def crashing() -> Any:
                calls.append(c is client and "first" or "second")
                if c is client:
                    client.clock.advance(LEASE_SKIP_SECONDS)  # type: ignore[attr-defined]
                    await drive(second, run.id)
                return payload

            async def child() -> Any:
                return await io.run_task("step", crashing)

            return await io.run_task("child", child)

    define(client)
    define(second)
    run = await client.invoke("job", "again")
    await client.execute(run.id, deadline=client.clock.time() + 60)
    done = await second.get_run(run.id)
    assert (done.status, done.output) == (RunStatus.COMPLETED, "again")
    assert calls == ["first", "second"]


async def test_3_13_a_child_with_only_a_wait_then_a_step_outside(client: Client) -> None:
    @job(client)
    async def parent(payload: Any, io: IO, ctx: Context) -> Any:
        async def child() -> Any:
            await io.wait("inner-wait", seconds=2)
            return payload

        await io.run_task("child", child)
        return await io.run_task("outer-step", lambda: payload)

    run = await run_job(client, "after-wait")
    assert run.output == "after-wait"
    assert [t.key for t in run.tasks] == ["child", "outer-step"]
    assert run.tasks[0].children[0].parent is not None


async def test_3_14_a_child_with_a_custom_serdes(client: Client) -> None:
    @job(client)
    async def parent(payload: Any, io: IO, ctx: Context) -> Any:
        async def child() -> Any:
            return await io.run_task("step", lambda: payload)

        return await io.run_task("child", child, serdes=Uppercase())

    run = await run_job(client, "hello child")
    assert run.output == "HELLO CHILD"


async def test_3_15_an_error_raised_in_the_child_body_fails_the_run(client: Client) -> None:
    @job(client)
    async def parent(payload: Any, io: IO, ctx: Context) -> Any:
        async def child() -> Any:
            raise LookupError("no step at all")

        return await io.run_task("child", child)

    run = await run_job(client)
    assert run.status is RunStatus.FAILED
    assert run.error is not None and "no step at all" in run.error["message"]
    (child,) = run.tasks
    assert child.status is TaskStatus.ERRORED and child.children == []


async def test_3_16_a_child_returning_none(client: Client) -> None:
    @job(client)
    async def parent(payload: Any, io: IO, ctx: Context) -> Any:
        async def child() -> Any:
            return None

        return {"child": await io.run_task("child", child)}

    run = await run_job(client)
    assert (run.status, run.output) == (RunStatus.COMPLETED, {"child": None})


async def test_3_17_a_child_that_only_logs_is_not_run_again_on_replay(client: Client) -> None:
    @job(client)
    async def parent(payload: Any, io: IO, ctx: Context) -> Any:
        async def child() -> Any:
            io.logger.info(f"child saw {payload}")
            return payload

        value = await io.run_task("child", child)
        await io.wait("pause", seconds=2)
        return value

    run = await run_job(client, "logged")
    assert run.output == "logged"
    assert [line.message for line in run.logs] == ["child saw logged"]


async def test_3_18_steps_and_waits_inside_and_after_a_child(client: Client) -> None:
    calls: list[str] = []

    @job(client)
    async def parent(payload: Any, io: IO, ctx: Context) -> Any:
        def step(name: str) -> Any:
            calls.append(name)
            return payload

        async def child() -> Any:
            value = await io.run_task("inner-step", lambda: step("inner"))
            await io.wait("inner-wait", seconds=2)
            return value

        await io.run_task("child", child)
        value = await io.run_task("outer-step", lambda: step("outer"))
        await io.wait("outer-wait", seconds=2)
        return value

    run = await client.invoke("job", "both")
    report = await drive(client, run.id)
    done = await client.get_run(run.id)
    assert (report.suspensions, done.output, calls) == (2, "both", ["inner", "outer"])
