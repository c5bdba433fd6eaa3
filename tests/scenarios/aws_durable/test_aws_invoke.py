"""AWS suite 5 (chained invoke) mapped onto io.invoke_and_wait: a child run started once,
its end waking the parent; `drive_tree` drives the child runs as their own invocations."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_durable_support import job, run_job
from triggerfish.core import IO, Client, Context, RunStatus, TaskFailed


def _echo(client: Client) -> list[Any]:
    """Defines the "echo" target job; returns the payloads it was started with."""
    seen: list[Any] = []

    @job(client, "echo")
    async def echo(payload: Any, io: IO, ctx: Context) -> Any:
        seen.append(payload)
        return payload

    return seen


def _broken(client: Client) -> None:
    @job(client, "broken")
    async def broken(payload: Any, io: IO, ctx: Context) -> Any:
        raise RuntimeError("target failed")


async def _child_runs(client: Client, job_id: str) -> list[Any]:
    return list((await client.list_runs(job_id=job_id)).runs)


async def test_5_1_invoking_an_echo_target_returns_its_output(client: Client) -> None:
    _echo(client)

    @job(client)
    async def caller(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.invoke_and_wait("echo", "echo", payload)

    run = await run_job(client, "in-51")
    assert (run.status, run.output) == (RunStatus.COMPLETED, "in-51")
    (child,) = await _child_runs(client, "echo")
    assert child.parent_run_id == run.id and run.tasks[0].child_run_id == child.id


async def test_5_2_an_invoke_is_recorded_under_its_key(client: Client) -> None:
    _echo(client)

    @job(client)
    async def caller(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.invoke_and_wait(payload["name"], "echo", payload["payload"])

    run = await run_job(client, {"name": "named-invoke", "payload": "p-52"})
    assert run.output == "p-52"
    assert [(t.key, t.kind) for t in run.tasks] == [("named-invoke", "invoke")]


@pytest.mark.parametrize(("scenario", "payload"), [
    ("5-3", {"nested": {"key": "value", "items": [1, 2, 3]}, "source": "test"}),
    ("5-4", None),
])  # fmt: skip
async def test_5_3_and_5_4_an_echo_of_an_object_or_of_null(
    client: Client, scenario: str, payload: Any
) -> None:
    _echo(client)

    @job(client)
    async def caller(payload: Any, io: IO, ctx: Context) -> Any:
        return {"echoed": await io.invoke_and_wait("echo", "echo", payload)}

    run = await run_job(client, payload)
    assert (run.status, run.output) == (RunStatus.COMPLETED, {"echoed": payload})


async def test_5_5_a_failing_target_fails_the_caller(client: Client) -> None:
    _broken(client)

    @job(client)
    async def caller(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.invoke_and_wait("call", "broken")

    run = await run_job(client)
    assert run.status is RunStatus.FAILED and run.error is not None
    (child,) = await _child_runs(client, "broken")
    assert child.id in run.error["message"] and "FAILED" in run.error["message"]


async def test_5_6_a_caught_target_failure_returns_a_fallback(client: Client) -> None:
    _broken(client)

    @job(client)
    async def caller(payload: Any, io: IO, ctx: Context) -> Any:
        try:
            return await io.invoke_and_wait("call", "broken")
        except TaskFailed:
            return "fallback"

    run = await run_job(client)
    assert (run.status, run.output) == (RunStatus.COMPLETED, "fallback")


async def test_5_7_a_large_payload(client: Client) -> None:
    @job(client, "measure")
    async def measure(payload: Any, io: IO, ctx: Context) -> Any:
        return {"length": len(payload["blob"])}

    @job(client)
    async def caller(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.invoke_and_wait("call", "measure", {"blob": "x" * 200_000})

    run = await run_job(client)
    assert (run.status, run.output) == (RunStatus.COMPLETED, {"length": 200_000}), run.error


async def test_5_9_a_replay_returns_the_invokes_output_without_a_second_child(
    client: Client,
) -> None:
    seen = _echo(client)

    @job(client)
    async def caller(payload: Any, io: IO, ctx: Context) -> Any:
        got = await io.invoke_and_wait("echo", "echo", "once")
        await io.wait("pause", seconds=1)
        return got

    run = await run_job(client)
    assert run.output == "once" and seen == ["once"]
    assert len(await _child_runs(client, "echo")) == 1


async def test_5_10_a_replay_raises_the_failed_invoke_again_without_a_second_child(
    client: Client,
) -> None:
    _broken(client)
    caught: list[str] = []

    @job(client)
    async def caller(payload: Any, io: IO, ctx: Context) -> Any:
        try:
            await io.invoke_and_wait("call", "broken")
        except TaskFailed as exc:
            caught.append(str(exc))
        await io.wait("pause", seconds=1)
        return "done"

    run = await run_job(client)
    assert run.status is RunStatus.COMPLETED
    assert len(caught) == 2 and caught[0] == caught[1]
    assert len(await _child_runs(client, "broken")) == 1


async def test_5_11_a_step_then_an_invoke_with_its_result(client: Client) -> None:
    seen = _echo(client)

    @job(client)
    async def caller(payload: Any, io: IO, ctx: Context) -> Any:
        value = await io.run_task("step", lambda: {"from": "step"})
        return await io.invoke_and_wait("echo", "echo", value)

    run = await run_job(client)
    assert run.output == {"from": "step"} and seen == [{"from": "step"}]


async def test_5_12_an_invoke_then_a_step_using_its_result(client: Client) -> None:
    _echo(client)
    steps: list[Any] = []

    @job(client)
    async def caller(payload: Any, io: IO, ctx: Context) -> Any:
        got = await io.invoke_and_wait("echo", "echo", 21)
        return await io.run_task("double", lambda: steps.append(got) or got * 2)

    run = await run_job(client)
    assert run.output == 42 and steps == [21]


async def test_5_13_an_invoke_inside_a_child(client: Client) -> None:
    _echo(client)

    @job(client)
    async def caller(payload: Any, io: IO, ctx: Context) -> Any:
        async def child() -> Any:
            return await io.invoke_and_wait("echo", "echo", "nested")

        return await io.run_task("child", child)

    run = await run_job(client)
    assert (run.status, run.output) == (RunStatus.COMPLETED, "nested"), run.error
    assert [(c.key, c.kind) for c in run.tasks[0].children] == [("echo", "invoke")]


async def test_5_14_two_sequential_invokes(client: Client) -> None:
    seen = _echo(client)

    @job(client)
    async def caller(payload: Any, io: IO, ctx: Context) -> Any:
        first = await io.invoke_and_wait("first", "echo", 1)
        second = await io.invoke_and_wait("second", "echo", first + 1)
        return [first, second]

    run = await run_job(client)
    assert run.output == [1, 2] and seen == [1, 2]


class UppercasePayload:
    """Writes strings upper-case; reads JSON as is."""

    def serialize(self, value: Any) -> str:
        if isinstance(value, dict):
            value = {k: v.upper() if isinstance(v, str) else v for k, v in value.items()}
        return json.dumps(value.upper() if isinstance(value, str) else value)

    def deserialize(self, text: str) -> Any:
        return json.loads(text)


class UppercaseResult:
    """Writes JSON as is; reads strings upper-case."""

    def serialize(self, value: Any) -> str:
        return json.dumps(value)

    def deserialize(self, text: str) -> Any:
        value = json.loads(text)
        return value.upper() if isinstance(value, str) else value


async def test_5_15_a_custom_serdes_writes_the_payload_sent(client: Client) -> None:
    seen = _echo(client)

    @job(client)
    async def caller(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.invoke_and_wait("echo", "echo", payload, serdes=UppercasePayload())

    run = await run_job(client, {"data": "hello"})
    assert run.status is RunStatus.COMPLETED and seen == [{"data": "HELLO"}]


async def test_5_16_a_custom_serdes_reads_the_result_received(client: Client) -> None:
    seen = _echo(client)

    @job(client)
    async def caller(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.invoke_and_wait("echo", "echo", payload, serdes=UppercaseResult())

    run = await run_job(client, "hello")
    assert (run.output, seen) == ("HELLO", ["hello"])
