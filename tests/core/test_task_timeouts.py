"""`io.run_task(..., timeout=)`: an attempt past its time limit fails with `TaskTimeout`
(a TaskFailed), retried as the policy allows; a sync fn's thread runs on, its result dropped."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from support.jobs import make_client
from triggerfish.core import (
    IO,
    ConfigError,
    Context,
    RetryPolicy,
    RunStatus,
    TaskFailed,
    TaskTimeout,
    invoke_trigger,
)
from triggerfish.core.testing import drive

NEVER = 3600.0
"""Longer than any test runs: a fn that waits this long is only ever ended by its timeout."""


async def test_an_async_task_past_its_timeout_is_retried_then_raises_task_timeout(
    store: Any,
) -> None:
    client = make_client(store)
    calls: list[int] = []

    @client.define_job(id="slow", trigger=invoke_trigger())
    async def slow(payload: Any, io: IO, ctx: Context) -> Any:
        async def hang() -> str:
            calls.append(1)
            await asyncio.sleep(NEVER)
            return "never"

        policy = RetryPolicy(limit=2, min_timeout=1, randomize=False)
        try:
            await io.run_task("hang", hang, timeout=0.05, retry=policy)
        except TaskTimeout as exc:
            caught = {"type": type(exc).__name__, "key": exc.key, "failed": isinstance(exc, TaskFailed),
                      "error": exc.error["type"]}  # fmt: skip
        await io.wait("after", seconds=5)  # one more invocation: the timeout is replayed
        return caught

    run = await client.invoke("slow", None)
    report = await drive(client, run.id)

    ended = await client.get_run(run.id)
    assert report.status is RunStatus.COMPLETED
    assert ended.output == {"type": "TaskTimeout", "key": "hang", "failed": True,
                            "error": "TaskTimeout"}  # fmt: skip
    task = next(t for t in ended.tasks if t.key == "hang")
    assert task.attempts == 2 and len(calls) == 2
    assert task.error is not None and task.error["timeout_seconds"] == 0.05
    assert "ran longer than the task's timeout of 0.05 s" in task.error["message"]


async def test_a_sync_task_past_its_timeout_runs_on_its_thread_and_its_result_is_dropped(
    store: Any,
) -> None:
    client = make_client(store)
    release, finished = threading.Event(), threading.Event()

    @client.define_job(id="blocking", trigger=invoke_trigger())
    async def blocking(payload: Any, io: IO, ctx: Context) -> Any:
        def block() -> str:
            release.wait(NEVER)
            finished.set()
            return "late"

        try:
            return await io.run_task("block", block, timeout=0.05)
        except TaskTimeout as exc:
            return str(exc)

    run = await client.invoke("blocking", None)
    await drive(client, run.id)
    release.set()
    assert await asyncio.to_thread(finished.wait, 30)  # the thread ran on to its end

    ended = await client.get_run(run.id)
    assert ended.status is RunStatus.COMPLETED
    assert ended.output.startswith("task 'block' failed: TaskTimeout: attempt 1 ran longer")
    task = ended.tasks[0]
    assert task.status.value == "ERRORED" and task.output is None


async def test_a_fn_that_blocks_the_loop_past_its_timeout_fails_all_the_same(store: Any) -> None:
    # What a sync fn run inline on the event loop does: nothing can cancel it, so the
    # attempt is judged by how long it took once it returns.
    client = make_client(store)

    @client.define_job(id="inline", trigger=invoke_trigger())
    async def inline(payload: Any, io: IO, ctx: Context) -> Any:
        async def hog() -> str:
            time.sleep(0.2)  # noqa: ASYNC251 - blocks the loop, as an inline sync fn does
            return "done"

        try:
            return await io.run_task("hog", hog, timeout=0.01)
        except TaskTimeout as exc:
            return exc.error["type"]

    run = await client.invoke("inline", None)
    await drive(client, run.id)
    assert (await client.get_run(run.id)).output == "TaskTimeout"


async def test_a_task_within_its_timeout_and_a_fn_raising_timeout_error_are_ordinary(
    tmp_path: Any,
) -> None:
    from triggerfish.core import SQLiteStore

    client = make_client(SQLiteStore(tmp_path / "runs.db"))

    @client.define_job(id="ordinary", trigger=invoke_trigger())
    async def ordinary(payload: Any, io: IO, ctx: Context) -> Any:
        quick = await io.run_task("quick", lambda: 42, timeout=30)

        def own_timeout() -> None:
            raise TimeoutError("the fn's own")

        try:
            await io.run_task("own", own_timeout, timeout=30)
        except TaskTimeout:
            return "wrongly a TaskTimeout"
        except TaskFailed as exc:
            return [quick, exc.error["type"]]
        return None

    run = await client.invoke("ordinary", None)
    await drive(client, run.id)
    assert (await client.get_run(run.id)).output == [42, "TimeoutError"]


async def test_retry_on_decides_whether_a_timeout_is_retried(tmp_path: Any) -> None:
    from triggerfish.core import SQLiteStore

    client = make_client(SQLiteStore(tmp_path / "runs.db"))
    attempts: dict[str, int] = {"timeouts": 0, "others": 0}

    @client.define_job(id="policy", trigger=invoke_trigger())
    async def policy(payload: Any, io: IO, ctx: Context) -> Any:
        async def hang(counter: str) -> None:
            attempts[counter] += 1
            await asyncio.sleep(NEVER)

        for key, retry_on in (("timeouts", (TaskTimeout,)), ("others", (ValueError,))):
            retry = RetryPolicy(limit=3, min_timeout=1, randomize=False, retry_on=retry_on)
            try:
                await io.run_task(key, lambda k=key: hang(k), timeout=0.02, retry=retry)
            except TaskTimeout:
                pass
        return attempts

    run = await client.invoke("policy", None)
    await drive(client, run.id)
    assert (await client.get_run(run.id)).output == {"timeouts": 3, "others": 1}


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), "5", 10 * 24 * 3600])
async def test_a_bad_timeout_is_a_config_error_naming_it_and_nothing_runs(
    tmp_path: Any, timeout: Any
) -> None:
    from triggerfish.core import SQLiteStore

    client = make_client(SQLiteStore(tmp_path / "runs.db"))
    called: list[int] = []

    @client.define_job(id="bad", trigger=invoke_trigger())
    async def bad(payload: Any, io: IO, ctx: Context) -> Any:
        try:
            await io.run_task("t", lambda: called.append(1), timeout=timeout)
        except ConfigError as exc:
            return str(exc)
        return None

    run = await client.invoke("bad", None)
    await drive(client, run.id)
    ended = await client.get_run(run.id)
    assert ended.output.startswith("io.run_task 't': timeout must be")
    assert ended.tasks == [] and called == []
