"""The resume protocol end to end, on every store (SQLite, DynamoDB on moto and dynalite)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from support.jobs import make_client
from triggerfish.core import (
    IO,
    Context,
    RetryPolicy,
    RunStatus,
    TaskFailed,
    TaskStatus,
    invoke_trigger,
)
from triggerfish.core.testing import drive

TASK_SECONDS = 0.1
NETWORK_TASK_SECONDS = 0.3
"""On a DynamoDB server one store call can take a few hundred ms on a loaded 2-core machine:
each deadline must leave room for the slowest call, as a Lambda's own timeout would."""


async def test_twenty_tasks_complete_across_invocations_within_each_deadline(
    store: Any, store_kind: str
) -> None:
    client = make_client(store)
    task_seconds = TASK_SECONDS if store_kind == "sqlite" else NETWORK_TASK_SECONDS
    executed: Counter[str] = Counter()

    @client.define_job(id="twenty", trigger=invoke_trigger())
    async def twenty(payload: Any, io: IO, ctx: Context) -> int:
        total = 0
        for n in range(20):

            async def work(n: int = n) -> int:
                executed[f"t{n}"] += 1
                await asyncio.sleep(task_seconds)
                return n

            total += await io.run_task(f"t{n}", work)
        return total

    run = await client.invoke("twenty", {})
    report = await drive(client, run.id, budget_seconds=3.5 * task_seconds)

    assert report.status is RunStatus.COMPLETED
    assert executed == Counter({f"t{n}": 1 for n in range(20)})
    assert len(report.invocations) >= 7
    assert not [i for i in report.invocations if i.overran_deadline]
    finished = await client.get_run(run.id)
    assert finished.output == sum(range(20))
    assert finished.invocation_count == len(report.invocations)


async def test_task_failing_twice_then_succeeding_records_three_attempts(store: Any) -> None:
    client = make_client(store)
    calls = 0

    def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionError(f"refused #{calls}")
        return "ok"

    @client.define_job(id="flaky", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.run_task("call", flaky, retry=RetryPolicy(limit=3))

    run = await client.invoke("flaky", None)
    report = await drive(client, run.id)

    assert report.status is RunStatus.COMPLETED
    finished = await client.get_run(run.id)
    (task,) = finished.tasks
    assert (task.status, task.attempts, task.output) == (TaskStatus.COMPLETED, 3, "ok")
    assert calls == 3


async def test_task_that_keeps_failing_ends_the_run_failed_with_its_error(store: Any) -> None:
    client = make_client(store)

    def broken() -> None:
        raise ValueError("bad gateway")

    @client.define_job(id="broken", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.run_task("call", broken, retry=RetryPolicy(limit=2, randomize=False))

    run = await client.invoke("broken", None)
    report = await drive(client, run.id)

    assert report.status is RunStatus.FAILED
    finished = await client.get_run(run.id)
    assert finished.error == {"type": "ValueError", "message": "bad gateway", "task": "call"}
    assert finished.tasks[0].attempts == 2
    assert finished.tasks[0].error == {"type": "ValueError", "message": "bad gateway"}


async def test_except_task_failed_sees_the_same_error_on_replay(store: Any) -> None:
    client = make_client(store)
    seen: list[str] = []

    def broken() -> None:
        raise KeyError("missing")

    @client.define_job(id="caught", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> str:
        try:
            await io.run_task("lookup", broken)
        except TaskFailed as exc:
            seen.append(str(exc))
        await io.wait("pause", seconds=60)
        return "recovered"

    run = await client.invoke("caught", None)
    report = await drive(client, run.id)

    assert report.status is RunStatus.COMPLETED
    assert len(seen) == 2
    assert seen[0] == seen[1]
    assert "KeyError" in seen[0] and "missing" in seen[0]


async def test_replay_returns_recorded_output_not_what_the_function_returns_now(
    store: Any,
) -> None:
    client = make_client(store)
    answers = iter(["first", "second", "third"])

    @client.define_job(id="replay", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> list[Any]:
        value = await io.run_task("pick", lambda: next(answers))
        await io.wait("between", seconds=30)
        again = await io.run_task("again", lambda: value)
        return [value, again]

    run = await client.invoke("replay", None)
    report = await drive(client, run.id)

    assert report.status is RunStatus.COMPLETED
    assert (await client.get_run(run.id)).output == ["first", "first"]
    assert next(answers) == "second"


async def test_two_hour_wait_completes_through_the_testing_clock_with_one_suspension(
    store: Any,
) -> None:
    client = make_client(store)

    @client.define_job(id="sleepy", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> str:
        await io.wait("two-hours", seconds=2 * 3600)
        return "awake"

    run = await client.invoke("sleepy", None)
    started = client.clock.time()
    report = await drive(client, run.id, budget_seconds=5)

    assert report.status is RunStatus.COMPLETED
    assert report.suspensions == 1
    assert client.clock.time() - started >= 2 * 3600
    (wait,) = (await client.get_run(run.id)).tasks
    assert (wait.kind, wait.status) == ("wait", TaskStatus.COMPLETED)


async def test_five_concurrent_executes_run_each_task_once(store: Any) -> None:
    client = make_client(store)
    executed: Counter[str] = Counter()

    @client.define_job(id="crowd", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> int:
        for n in range(6):

            async def work(n: int = n) -> int:
                executed[f"t{n}"] += 1
                await asyncio.sleep(0.02)
                return n

            await io.run_task(f"t{n}", work)
        return 6

    run = await client.invoke("crowd", None)
    for _ in range(10):
        outcomes = await asyncio.gather(*(client.execute(run.id) for _ in range(5)))
        if any(o.status is RunStatus.COMPLETED for o in outcomes):
            break

    assert (await client.get_run(run.id)).status is RunStatus.COMPLETED
    assert executed == Counter({f"t{n}": 1 for n in range(6)})
