"""Dispatch: the local dispatcher drives runs to the end and recovers them after a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from triggerfish.core import (
    IO,
    Client,
    Context,
    LocalDispatcher,
    RunStatus,
    SQLiteStore,
    SQSDispatcher,
    invoke_trigger,
)


def define(client: Client) -> None:
    @client.define_job(id="short", trigger=invoke_trigger())
    async def short(payload: Any, io: IO, ctx: Context) -> str:
        await io.run_task("one", lambda: 1)
        await io.wait("breath", seconds=0.3)
        return "done"


async def wait_for_status(client: Client, run_id: str, status: RunStatus) -> None:
    for _ in range(100):
        if (await client.get_run(run_id, tasks=False)).status is status:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} never reached {status.value}")


async def test_local_dispatcher_runs_an_invoked_run_through_its_wait(tmp_path: Path) -> None:
    client = Client("local", store=SQLiteStore(tmp_path / "runs.db"))
    define(client)
    dispatcher = LocalDispatcher(client, sweep_interval_seconds=0.1)
    client.dispatcher = dispatcher
    await dispatcher.start()
    try:
        run = await client.invoke("short", None)
        await wait_for_status(client, run.id, RunStatus.COMPLETED)
    finally:
        await dispatcher.stop()
    assert (await client.get_run(run.id)).invocation_count == 2


async def test_a_new_dispatcher_recovers_runs_left_by_a_stopped_one(tmp_path: Path) -> None:
    first = Client("a", store=SQLiteStore(tmp_path / "runs.db"))
    define(first)
    run = await first.invoke("short", None)
    assert (await first.execute(run.id)).status is RunStatus.WAITING

    second = Client("b", store=SQLiteStore(tmp_path / "runs.db"))
    define(second)
    second.dispatcher = LocalDispatcher(second, sweep_interval_seconds=0.1)
    await second.dispatcher.start()
    try:
        await wait_for_status(second, run.id, RunStatus.COMPLETED)
    finally:
        await second.dispatcher.stop()


def test_sqs_delays_are_whole_seconds_capped_at_fifteen_minutes() -> None:
    dispatcher = SQSDispatcher("http://queue.invalid/q", client=object())  # type: ignore[arg-type]
    assert dispatcher.delay_for(100.0, now=100.0) == 0
    assert dispatcher.delay_for(100.2, now=100.0) == 1
    assert dispatcher.delay_for(100.0 + 7200, now=100.0) == 900
    assert dispatcher.delay_for(50.0, now=100.0) == 0


async def test_a_local_dispatcher_given_to_the_client_is_bound_to_it(tmp_path: Path) -> None:
    dispatcher = LocalDispatcher(sweep_interval_seconds=0.1)
    client = Client("bound", store=SQLiteStore(tmp_path / "runs.db"), dispatcher=dispatcher)
    define(client)
    assert dispatcher.client is client
    await dispatcher.start()
    try:
        run = await client.invoke("short", None)
        await wait_for_status(client, run.id, RunStatus.COMPLETED)
    finally:
        await dispatcher.stop()


async def test_list_runs_pages_iterate_over_runs(tmp_path: Path) -> None:
    client = Client("pages", store=SQLiteStore(tmp_path / "runs.db"))
    define(client)
    made = [await client.invoke("short", None) for _ in range(3)]
    page = await client.list_runs()
    assert sorted(run.id for run in page) == sorted(run.id for run in made)
    assert len(page) == 3 and page[0].id == page.runs[0].id


async def test_drive_without_a_skipping_clock_says_how_to_skip_long_waits(tmp_path: Path) -> None:
    import pytest
    from triggerfish.core import ConfigError
    from triggerfish.core.testing import drive

    client = Client("real-clock", store=SQLiteStore(tmp_path / "runs.db"))

    @client.define_job(id="long-wait", trigger=invoke_trigger())
    async def long_wait(payload: Any, io: IO, ctx: Context) -> None:
        await io.wait("hour", seconds=3600)

    run = await client.invoke("long-wait", None)
    with pytest.raises(ConfigError, match="SkippingClock"):
        await drive(client, run.id)
