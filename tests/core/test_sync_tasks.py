"""Sync task fns run on worker threads (core/io/threads.py): blocking ones never wait for
each other, results and errors come back to the run, and a forked process runs them too.
Quick ones move onto the event loop, blocking ones stay off it (core/io/sync_tasks.py)."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from support.jobs import make_client
from triggerfish.core import IO, Context, LocalDispatcher, RunStatus, SQLiteStore, invoke_trigger
from triggerfish.core.io import sync_tasks
from triggerfish.core.testing import drive

LOOP = threading.main_thread().name

BLOCKED_AT_ONCE = 16
"""More sync fns blocked at once than asyncio's default executor has threads on a machine
of up to 11 cores (min(32, cores + 4)): each waits until all of them have started."""


async def test_many_blocking_sync_tasks_run_at_once_without_waiting_for_each_other(
    tmp_path: Path,
) -> None:
    client = make_client(SQLiteStore(tmp_path / "runs.db"))
    everyone = threading.Barrier(BLOCKED_AT_ONCE, timeout=30)

    @client.define_job(id="blocking", trigger=invoke_trigger())
    async def blocking(payload: Any, io: IO, ctx: Context) -> Any:
        def block() -> int:
            return everyone.wait()  # BrokenBarrierError if they did not all start

        await io.run_task("block", block)
        return await io.run_task("after", lambda: payload * 2)

    runs = [await client.invoke("blocking", n) for n in range(BLOCKED_AT_ONCE)]
    await asyncio.gather(*(drive(client, run.id) for run in runs))
    ended = [await client.get_run(run.id) for run in runs]
    assert [run.status for run in ended] == [RunStatus.COMPLETED] * BLOCKED_AT_ONCE
    assert [run.output for run in ended] == [n * 2 for n in range(BLOCKED_AT_ONCE)]


async def test_a_sync_task_error_reaches_the_run_from_its_thread(
    tmp_path: Path,
) -> None:
    client = make_client(SQLiteStore(tmp_path / "runs.db"))

    @client.define_job(id="fails", trigger=invoke_trigger())
    async def fails(payload: Any, io: IO, ctx: Context) -> Any:
        def broken() -> None:
            raise LookupError("nothing here")

        return await io.run_task("broken", broken)

    run = await client.invoke("fails", None)
    await drive(client, run.id)
    failed = await client.get_run(run.id)
    assert failed.status is RunStatus.FAILED
    assert failed.error is not None and "nothing here" in failed.error["message"]


async def test_a_sync_task_that_raises_stop_iteration_fails_instead_of_hanging(
    tmp_path: Path,
) -> None:
    client = make_client(SQLiteStore(tmp_path / "runs.db"))

    @client.define_job(id="exhausted", trigger=invoke_trigger())
    async def exhausted(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.run_task("next", lambda: next(iter([])))

    run = await client.invoke("exhausted", None)
    await asyncio.wait_for(drive(client, run.id), timeout=20)
    failed = await client.get_run(run.id)
    assert failed.status is RunStatus.FAILED
    assert failed.error is not None and "StopIteration" in failed.error["message"]


def test_a_forked_process_runs_sync_tasks_on_threads_of_its_own(tmp_path: Path) -> None:
    if not hasattr(os, "fork"):
        return
    client = make_client(SQLiteStore(tmp_path / "runs.db"))

    @client.define_job(id="sync", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.run_task("where", lambda: threading.current_thread().name)

    async def one_run() -> Any:
        run = await client.invoke("sync", None)
        await asyncio.wait_for(drive(client, run.id), timeout=20)
        return (await client.get_run(run.id)).output

    assert asyncio.run(one_run()) != threading.main_thread().name  # the parent's threads exist
    child = os.fork()
    if child == 0:  # the child: its threads start afresh (the parent's are not there)
        code = 1
        try:
            client.store = SQLiteStore(tmp_path / "runs.db")
            code = 0 if asyncio.run(one_run()) != threading.main_thread().name else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0


async def _threads_of(client: Any, job_id: str, payload: Any = None) -> list[str]:
    """The thread names a run of `job_id` returned (it must complete)."""
    run = await client.invoke(job_id, payload)
    await asyncio.wait_for(drive(client, run.id), timeout=30)
    done = await client.get_run(run.id)
    assert done.status is RunStatus.COMPLETED, done.error
    names: list[str] = done.output
    return names


def _where() -> str:
    return threading.current_thread().name


async def test_a_quick_sync_fn_runs_on_the_event_loop_after_its_first_calls(
    tmp_path: Path,
) -> None:
    client = make_client(SQLiteStore(tmp_path / "runs.db"))

    @client.define_job(id="quick", trigger=invoke_trigger())
    async def quick(payload: Any, io: IO, ctx: Context) -> Any:
        return [await io.run_task(f"s{i}", lambda: _where()) for i in range(10)]

    names = await _threads_of(client, "quick")
    assert LOOP not in names[: sync_tasks.PROBE_CALLS]  # probed in a worker thread first
    assert names[sync_tasks.PROBE_CALLS :] == [LOOP] * (10 - sync_tasks.PROBE_CALLS)


async def test_a_blocking_sync_fn_always_runs_in_a_worker_thread(tmp_path: Path) -> None:
    client = make_client(SQLiteStore(tmp_path / "runs.db"))

    def slow() -> str:
        time.sleep(sync_tasks.QUICK_SECONDS * 5)
        return _where()

    @client.define_job(id="slow", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        return [await io.run_task(f"s{i}", slow) for i in range(6)]

    assert LOOP not in await _threads_of(client, "slow")


async def test_a_quick_fn_that_blocks_the_loop_once_is_sent_to_threads_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(SQLiteStore(tmp_path / "runs.db"))
    blocks_at = sync_tasks.PROBE_CALLS + 2

    def work(i: int) -> str:
        if i == blocks_at:
            time.sleep(sync_tasks.BLOCKING_SECONDS * 2)
        return _where()

    @client.define_job(id="once", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        return [await io.run_task(f"s{i}", lambda i=i: work(i)) for i in range(blocks_at + 4)]

    with caplog.at_level(logging.WARNING, logger="triggerfish"):
        names = await _threads_of(client, "once")
    assert names[blocks_at] == LOOP  # it was on the loop when it blocked ...
    assert LOOP not in names[blocks_at + 1 :]  # ... and is not any more
    warnings = [r.getMessage() for r in caplog.records if "held the event loop" in r.getMessage()]
    assert len(warnings) == 1 and f"task s{blocks_at}:" in warnings[0]


async def test_a_lambda_that_only_calls_an_async_fn_never_touches_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(SQLiteStore(tmp_path / "runs.db"))
    handed_to_threads: list[Any] = []
    run_in_thread = sync_tasks.run_in_thread

    async def counted(fn: Any) -> Any:
        handed_to_threads.append(fn)
        return await run_in_thread(fn)

    monkeypatch.setattr(sync_tasks, "run_in_thread", counted)

    async def fetch(n: int) -> int:
        return n * 2

    @client.define_job(id="maker", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        first = await io.run_task("first", lambda: fetch(payload))
        outer = await io.run_task("outer", lambda: io.run_task("inner", lambda: fetch(1)))
        return [first, outer]

    run = await client.invoke("maker", 20)
    await drive(client, run.id)
    assert (await client.get_run(run.id)).output == [40, 2]
    assert handed_to_threads == []


async def test_a_loop_running_a_local_dispatcher_runs_every_sync_fn_in_a_thread(
    tmp_path: Path,
) -> None:
    dispatcher = LocalDispatcher()
    client = make_client(SQLiteStore(tmp_path / "runs.db"), dispatcher=dispatcher)

    @client.define_job(id="served", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        return [await io.run_task(f"s{i}", lambda: _where()) for i in range(8)]

    await dispatcher.start()
    try:
        names = await _threads_of(client, "served")
    finally:
        await dispatcher.stop()
    assert LOOP not in names  # the server's loop: however quick, never on it
    assert LOOP in await _threads_of(client, "served")  # stopped: this loop is its own again
