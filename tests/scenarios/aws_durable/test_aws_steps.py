"""AWS suite 1 (step) mapped onto io.run_task: results, names, replay, retries, crashes."""

from __future__ import annotations

import itertools
import json
from typing import Any

from aws_durable_support import job, make_client, run_job
from triggerfish.core import (
    IO,
    Client,
    Context,
    RetryPolicy,
    RunStatus,
    TaskFailed,
    TaskStatus,
)
from triggerfish.core.testing import drive

LEASE_SKIP_SECONDS = 3600.0


class TransientError(Exception):
    """The error a scenario's retry strategy picks out."""


class Uppercase:
    """A serdes that writes every string upper-case (AWS 1-6's custom serdes)."""

    def serialize(self, value: Any) -> str:
        return json.dumps(value.upper() if isinstance(value, str) else value)

    def deserialize(self, text: str) -> Any:
        return json.loads(text)


async def test_1_1_a_step_returns_its_result(client: Client) -> None:
    @job(client)
    async def greet(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.run_task("greet", lambda: f"Hello, {payload}!")

    run = await run_job(client, "World")
    assert (run.status, run.output) == (RunStatus.COMPLETED, "Hello, World!")
    (task,) = run.tasks
    assert (task.status, task.attempts) == (TaskStatus.COMPLETED, 1)


async def test_1_2_a_step_keeps_its_name(client: Client) -> None:
    @job(client)
    async def greet(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.run_task("greet", lambda: f"Hello, {payload}!", name="custom_step_name")

    run = await run_job(client, "World")
    assert run.output == "Hello, World!" and run.tasks[0].name == "custom_step_name"


async def test_1_3_the_second_step_uses_the_first_steps_result(client: Client) -> None:
    @job(client)
    async def chain(payload: Any, io: IO, ctx: Context) -> Any:
        first = await io.run_task("one", lambda: "first")
        return await io.run_task("two", lambda: f"{first}_second")

    assert (await run_job(client)).output == "first_second"


async def test_1_4_a_step_returns_a_nested_object(client: Client) -> None:
    @job(client)
    async def build(payload: Any, io: IO, ctx: Context) -> Any:
        def response() -> Any:
            return {"user": {"name": payload["name"], "tags": payload["tags"]},
                    "count": len(payload["tags"])}  # fmt: skip

        built = await io.run_task("build", response)
        await io.wait("then", seconds=1)  # the output the run returns is the replayed one
        return built

    run = await run_job(client, {"name": "Alice", "tags": ["admin", "active"]})
    assert run.output == {"user": {"name": "Alice", "tags": ["admin", "active"]}, "count": 2}


async def test_1_5_a_step_returning_none(client: Client) -> None:
    @job(client)
    async def nothing(payload: Any, io: IO, ctx: Context) -> Any:
        got = await io.run_task("nothing", lambda: None)
        await io.wait("then", seconds=1)
        return {"got": got}

    run = await run_job(client)
    assert run.status is RunStatus.COMPLETED and run.output == {"got": None}


async def test_1_6_a_step_with_a_custom_serdes(client: Client) -> None:
    seen: list[Any] = []

    @job(client)
    async def shout(payload: Any, io: IO, ctx: Context) -> Any:
        value = await io.run_task("echo", lambda: payload, serdes=Uppercase())
        seen.append(value)
        await io.wait("then", seconds=1)
        return value

    run = await run_job(client, "hello world")
    assert run.output == "HELLO WORLD"
    assert seen == ["HELLO WORLD", "HELLO WORLD"]  # the same when run and when replayed


async def test_1_7_a_step_logs_through_the_run_logger_once(client: Client) -> None:
    @job(client)
    async def greet(payload: Any, io: IO, ctx: Context) -> Any:
        def hello() -> str:
            io.logger.info(f"Greeting step started for: {payload}")
            io.logger.info(f"Greeting step completed with: Hello, {payload}!")
            return f"Hello, {payload}!"

        result = await io.run_task("greet", hello)
        await io.wait("then", seconds=1)
        return result

    run = await run_job(client, "Kiro")
    assert run.output == "Hello, Kiro!"
    assert [line.message for line in run.logs] == [
        "Greeting step started for: Kiro", "Greeting step completed with: Hello, Kiro!"]


async def test_1_8_a_step_then_a_wait_completes_after_the_wait(client: Client) -> None:
    @job(client)
    async def compute(payload: Any, io: IO, ctx: Context) -> Any:
        value = await io.run_task("compute", lambda: "computed")
        await io.wait("pause", seconds=5)
        return value

    run = await client.invoke("job", None)
    report = await drive(client, run.id)
    done = await client.get_run(run.id)
    assert (report.status, report.suspensions, done.output) == (
        RunStatus.COMPLETED, 1, "computed")


async def test_1_9_a_replay_returns_the_steps_result_without_running_it(client: Client) -> None:
    calls: list[str] = []

    @job(client)
    async def cached(payload: Any, io: IO, ctx: Context) -> Any:
        def once() -> str:
            calls.append("step executed")
            return "cached_value"

        value = await io.run_task("step", once)
        await io.wait("pause", seconds=5)
        return value

    run = await run_job(client)
    assert run.output == "cached_value" and calls == ["step executed"]


async def test_1_10_a_replay_raises_the_failed_steps_error_without_running_it(
    client: Client,
) -> None:
    calls: list[str] = []
    caught: list[str] = []

    @job(client)
    async def rethrow(payload: Any, io: IO, ctx: Context) -> Any:
        def fail() -> None:
            calls.append("step executed")
            raise ValueError("permanent")

        try:
            await io.run_task("step", fail)
        except TaskFailed as exc:
            caught.append(str(exc))
        await io.wait("pause", seconds=5)
        return "ok"

    run = await run_job(client)
    assert run.status is RunStatus.COMPLETED and calls == ["step executed"]
    assert len(caught) == 2 and caught[0] == caught[1] and "permanent" in caught[0]


async def test_1_11_a_step_retried_after_one_failure_succeeds(client: Client) -> None:
    attempts: list[float] = []

    @job(client)
    async def unreliable(payload: Any, io: IO, ctx: Context) -> Any:
        def flaky() -> str:
            attempts.append(client.clock.time())
            if len(attempts) == 1:
                raise RuntimeError("first attempt fails")
            return "Operation succeeded"

        return await io.run_task("flaky", flaky,
                                 retry=RetryPolicy(limit=2, min_timeout=1, randomize=False))

    run = await run_job(client)
    assert run.output == "Operation succeeded" and run.tasks[0].attempts == 2
    assert 1.0 <= attempts[1] - attempts[0] < 1.5


async def test_1_12_retries_stop_after_the_most_attempts(client: Client) -> None:
    calls: list[int] = []

    @job(client)
    async def always(payload: Any, io: IO, ctx: Context) -> Any:
        def fail() -> None:
            calls.append(1)
            raise RuntimeError(f"attempt {len(calls)} failed")

        return await io.run_task("fail", fail, retry=RetryPolicy(
            limit=4, factor=1, min_timeout=1, randomize=False))

    run = await run_job(client)
    assert run.status is RunStatus.FAILED and len(calls) == 4
    assert run.error is not None and "attempt 4 failed" in run.error["message"]
    assert (run.tasks[0].status, run.tasks[0].attempts) == (TaskStatus.ERRORED, 4)


async def test_1_13_the_default_retry_policy_retries_with_backoff_and_jitter(
    client: Client,
) -> None:
    attempts: list[float] = []

    @job(client)
    async def unreliable(payload: Any, io: IO, ctx: Context) -> Any:
        def flaky() -> str:
            attempts.append(client.clock.time())
            if len(attempts) < 3:
                raise RuntimeError("not yet")
            return "third time"

        return await io.run_task("flaky", flaky, retry=RetryPolicy())

    run = await run_job(client)
    assert run.output == "third time" and run.tasks[0].attempts == 3
    first, second = attempts[1] - attempts[0], attempts[2] - attempts[1]
    assert 1.0 <= first < 2.5  # min_timeout 1 s times a random factor in [1, 2)
    assert 1.8 <= second < 4.0  # 1.8x backoff, same jitter


async def test_1_14_a_custom_backoff_without_jitter_waits_2_then_6_seconds(
    client: Client,
) -> None:
    attempts: list[float] = []

    @job(client)
    async def unreliable(payload: Any, io: IO, ctx: Context) -> Any:
        def flaky() -> str:
            attempts.append(client.clock.time())
            if len(attempts) < 3:
                raise RuntimeError("not yet")
            return "done"

        retry = RetryPolicy(limit=5, factor=3, min_timeout=2, randomize=False)
        return await io.run_task("flaky", flaky, retry=retry)

    run = await run_job(client)
    assert run.output == "done"
    gaps = [round(b - a) for a, b in itertools.pairwise(attempts)]
    assert gaps == [2, 6]


async def test_1_15_only_the_chosen_error_is_retried_and_then_succeeds(client: Client) -> None:
    calls: list[int] = []

    @job(client)
    async def pick(payload: Any, io: IO, ctx: Context) -> Any:
        def flaky() -> str:
            calls.append(1)
            if len(calls) == 1:
                raise TransientError("try again")
            return "ok"

        retry = RetryPolicy(limit=3, retry_on=TransientError, min_timeout=1, randomize=False)
        return await io.run_task("flaky", flaky, retry=retry)

    run = await run_job(client)
    assert run.output == "ok" and len(calls) == 2


async def test_1_16_an_error_the_policy_does_not_retry_fails_at_once(client: Client) -> None:
    calls: list[int] = []

    @job(client)
    async def pick(payload: Any, io: IO, ctx: Context) -> Any:
        def flaky() -> str:
            calls.append(1)
            raise TransientError("not retried")

        retry = RetryPolicy(limit=5, retry_on=KeyError, min_timeout=1, randomize=False)
        return await io.run_task("flaky", flaky, retry=retry)

    run = await run_job(client)
    assert run.status is RunStatus.FAILED and len(calls) == 1
    assert run.error is not None and run.error["type"] == "TransientError"


def _two_clients(client: Client) -> tuple[Client, Client]:
    """Two processes' worth of clients on one store and one clock (a crash is a takeover)."""
    return client, make_client(client.store, clock=client.clock)


async def test_1_17_an_at_most_once_step_cut_short_fails_without_a_retry(client: Client) -> None:
    first, second = _two_clients(client)
    calls: list[str] = []

    def define(c: Client) -> None:
        @job(c)
        async def charge(payload: Any, io: IO, ctx: Context) -> Any:
            async def crash() -> str:
                io.logger.info(f"charging {payload}")
                calls.append("charge")
                first.clock.advance(LEASE_SKIP_SECONDS)  # type: ignore[attr-defined]
                await drive(second, run.id)  # the "next invocation" after the crash
                return "late"

            return await io.run_task("charge", crash, at_most_once=True)

    define(first)
    define(second)
    run = await first.invoke("job", "order-1")
    await first.execute(run.id, deadline=first.clock.time() + 60)

    failed = await second.get_run(run.id)
    assert failed.status is RunStatus.FAILED and calls == ["charge"]
    assert failed.error is not None and failed.error["type"] == "TaskInterrupted"
    assert [line.message for line in failed.logs] == ["charging order-1"]


async def test_1_18_an_at_most_once_step_cut_short_is_retried_by_its_policy(
    client: Client,
) -> None:
    first, second = _two_clients(client)
    calls: list[str] = []

    def define(c: Client) -> None:
        @job(c)
        async def charge(payload: Any, io: IO, ctx: Context) -> Any:
            async def crash_once() -> str:
                calls.append("charge")
                if len(calls) == 1:
                    first.clock.advance(LEASE_SKIP_SECONDS)  # type: ignore[attr-defined]
                    await drive(second, run.id)
                    return "late"
                return "succeeded on second attempt"

            retry = RetryPolicy(limit=2, min_timeout=1, randomize=False)
            return await io.run_task("charge", crash_once, at_most_once=True, retry=retry)

    define(first)
    define(second)
    run = await first.invoke("job", "order-2")
    await first.execute(run.id, deadline=first.clock.time() + 60)

    done = await second.get_run(run.id)
    assert (done.status, done.output) == (RunStatus.COMPLETED, "succeeded on second attempt")
    assert calls == ["charge", "charge"]


async def test_1_19_a_step_without_retries_fails_the_run(client: Client) -> None:
    calls: list[int] = []

    @job(client)
    async def broken(payload: Any, io: IO, ctx: Context) -> Any:
        def fail() -> None:
            calls.append(1)
            raise ValueError("broken for good")

        return await io.run_task("broken", fail)

    run = await run_job(client)
    assert run.status is RunStatus.FAILED and calls == [1]
    assert run.error is not None
    assert run.error["type"] == "ValueError" and "broken for good" in run.error["message"]


async def test_1_20_a_caught_step_error_falls_back_and_the_next_step_runs(client: Client) -> None:
    @job(client)
    async def fallback(payload: Any, io: IO, ctx: Context) -> Any:
        def fail() -> None:
            raise ValueError("nope")

        try:
            value = await io.run_task("risky", fail)
        except TaskFailed:
            value = "fallback"
        return await io.run_task("after", lambda: f"{value}_result")

    run = await run_job(client)
    assert (run.status, run.output) == (RunStatus.COMPLETED, "fallback_result")
