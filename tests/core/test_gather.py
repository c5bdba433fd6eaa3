"""`asyncio.gather` of io calls: every call of a gather starts in the invocation that
reached it, even when the first one suspends at once (issue 16 item 12, issue 18 item 4).

SQLite's store answers without yielding to the event loop, so a wait used to suspend the
invocation before its siblings had entered their io call; DynamoDB's answers from a thread
let them in. Now both stores start them.
"""

from __future__ import annotations

import asyncio
from typing import Any

from support.jobs import make_client
from triggerfish.core import IO, Context, RunStatus, invoke_trigger
from triggerfish.core.callbacks import CallbackAnswer, answer_callback
from triggerfish.core.testing import drive
from triggerfish.core.types import TaskStatus


def statuses(run: Any) -> dict[str, TaskStatus]:
    return {task.key: task.status for task in run.tasks}


async def test_gather_of_a_request_wait_and_a_task_starts_both(store: Any) -> None:
    client = make_client(store, base_url="https://jobs.example.com")
    urls: list[str] = []
    calls: list[str] = []

    @client.define_job(id="g", trigger=invoke_trigger())
    async def g(payload: Any, io: IO, ctx: Context) -> Any:
        def work() -> str:
            calls.append("work")
            return "worked"

        return await asyncio.gather(io.wait_for_request("approve", urls.append),
                                    io.run_task("work", work))  # fmt: skip

    run = await client.invoke("g", None)
    outcome = await client.execute(run.id)

    assert outcome.status is RunStatus.WAITING
    assert calls == ["work"] and len(urls) == 1
    assert statuses(await client.get_run(run.id)) == {
        "approve": TaskStatus.WAITING, "work": TaskStatus.COMPLETED}  # fmt: skip

    token = urls[0].rsplit("/", 1)[1]
    assert await answer_callback(client.runtime, token, '{"ok": 1}') is CallbackAnswer.RESUMED
    report = await drive(client, run.id)
    assert report.status is RunStatus.COMPLETED
    assert (await client.get_run(run.id)).output == [{"ok": 1}, "worked"]
    assert calls == ["work"]  # replayed, not run again


async def test_gather_of_a_wait_and_a_task_starts_both(store: Any) -> None:
    client = make_client(store)
    calls: list[str] = []

    @client.define_job(id="g", trigger=invoke_trigger())
    async def g(payload: Any, io: IO, ctx: Context) -> Any:
        async def work() -> str:
            calls.append("work")
            return "worked"

        return await asyncio.gather(io.wait("pause", seconds=60), io.run_task("work", work))

    run = await client.invoke("g", None)
    outcome = await client.execute(run.id)

    assert outcome.status is RunStatus.WAITING
    assert calls == ["work"]
    assert statuses(await client.get_run(run.id)) == {
        "pause": TaskStatus.WAITING, "work": TaskStatus.COMPLETED}  # fmt: skip
    report = await drive(client, run.id)
    assert report.status is RunStatus.COMPLETED
    assert (await client.get_run(run.id)).output == [None, "worked"]
    assert calls == ["work"]


async def test_parallel_branches_one_waits_while_the_others_proceed(store: Any) -> None:
    """AWS durable-SDK style: three branches; one sleeps, two run their steps. The sleeping
    branch does not hold the others back: each starts in the first invocation, and every
    step runs exactly once across the run's invocations."""
    client = make_client(store)
    runs: list[str] = []

    @client.define_job(id="branches", trigger=invoke_trigger())
    async def branches(payload: Any, io: IO, ctx: Context) -> Any:
        def step(name: str) -> Any:
            def fn() -> str:
                runs.append(name)
                return name

            return fn

        async def sleeper() -> str:
            await io.wait("sleep", seconds=3600)
            return await io.run_task("after sleep", step("after sleep"))

        async def worker(name: str) -> list[str]:
            first = await io.run_task(f"{name} 1", step(f"{name} 1"))
            second = await io.run_task(f"{name} 2", step(f"{name} 2"))
            return [first, second]

        return await asyncio.gather(sleeper(), worker("a"), worker("b"))

    run = await client.invoke("branches", None)
    first = await client.execute(run.id)

    assert first.status is RunStatus.WAITING
    assert {"a 1", "b 1"} <= set(runs)  # both proceeding branches started before the wait
    report = await drive(client, run.id)

    assert report.status is RunStatus.COMPLETED
    assert (await client.get_run(run.id)).output == [
        "after sleep", ["a 1", "a 2"], ["b 1", "b 2"]]  # fmt: skip
    assert sorted(runs) == ["a 1", "a 2", "after sleep", "b 1", "b 2"]


async def test_gathered_waits_resume_the_run_at_the_earliest_of_them(store: Any) -> None:
    client = make_client(store)

    @client.define_job(id="waits", trigger=invoke_trigger())
    async def waits(payload: Any, io: IO, ctx: Context) -> Any:
        await asyncio.gather(io.wait("long", seconds=600), io.wait("short", seconds=60))
        return "done"

    run = await client.invoke("waits", None)
    before = client.clock.time()
    outcome = await client.execute(run.id)

    assert outcome.status is RunStatus.WAITING
    assert outcome.resume_at is not None and outcome.resume_at < before + 600
    assert statuses(await client.get_run(run.id)) == {
        "long": TaskStatus.WAITING, "short": TaskStatus.WAITING}  # fmt: skip
    assert (await drive(client, run.id)).status is RunStatus.COMPLETED


async def test_an_io_call_after_a_swallowed_suspension_still_does_not_start(store: Any) -> None:
    """Letting gathered siblings in must not let the suspended code itself go on."""
    client = make_client(store)
    calls: list[str] = []

    @client.define_job(id="swallow", trigger=invoke_trigger())
    async def swallow(payload: Any, io: IO, ctx: Context) -> Any:
        try:
            await io.wait("pause", seconds=60)
        except BaseException:  # noqa: BLE001, S110 - what the test is about
            pass
        return await io.run_task("after", lambda: calls.append("after"))

    run = await client.invoke("swallow", None)
    outcome = await client.execute(run.id)

    assert outcome.status is RunStatus.WAITING
    assert calls == []
