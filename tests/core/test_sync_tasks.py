"""Sync task fns run on worker threads (core/io/threads.py): blocking ones never wait for
each other, results and errors come back to the run, and a forked process runs them too."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any

from support.jobs import make_client
from triggerfish.core import IO, Context, RunStatus, SQLiteStore, invoke_trigger
from triggerfish.core.testing import drive

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
