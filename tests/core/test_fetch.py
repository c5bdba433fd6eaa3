"""io.background_fetch: inline without a worker, outside the invocation with one."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.http_target import http_target
from support.jobs import make_client
from triggerfish.core import (
    IO,
    Client,
    Context,
    LocalDispatcher,
    RetryPolicy,
    RunStatus,
    SQLiteStore,
    TaskStatus,
    invoke_trigger,
)
from triggerfish.core.fetch import FetchMessage, perform_fetch
from triggerfish.core.testing import drive


@pytest.fixture
def target() -> Iterator[tuple[str, Any]]:
    with http_target() as served:
        yield served


def define_fetcher(client: Client, url: str) -> None:
    @client.define_job(id="fetcher", trigger=invoke_trigger())
    async def fetcher(payload: Any, io: IO, ctx: Context) -> Any:
        response = await io.background_fetch(
            "call", f"{url}/flaky", method="POST", body='{"q": 1}',
            retry=RetryPolicy(limit=3, min_timeout=0.05, randomize=False),
        )  # fmt: skip
        return {"status": response["status"], "answer": json.loads(response["body"])}


async def test_without_a_worker_the_fetch_runs_inline_with_retries(
    store: Any, target: tuple[str, Any]
) -> None:
    url, hits = target
    client = make_client(store)
    define_fetcher(client, url)

    run = await client.invoke("fetcher", None)
    report = await drive(client, run.id)

    assert report.status is RunStatus.COMPLETED
    finished = await client.get_run(run.id)
    assert finished.output == {"status": 200, "answer": {"path": "/flaky", "method": "POST",
                                                          "sent": '{"q": 1}'}}
    assert finished.tasks[0].attempts == 2 and hits["/flaky"] == 2


async def wait_until_final(client: Client, run_id: str) -> RunStatus:
    for _ in range(200):
        status = (await client.get_run(run_id, tasks=False)).status
        if status.is_final:
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} did not finish")


async def test_with_a_worker_the_fetch_happens_outside_the_run_invocation(
    tmp_path: Path, target: tuple[str, Any]
) -> None:
    url, hits = target
    client = Client("bg", store=SQLiteStore(tmp_path / "runs.db"))
    define_fetcher(client, url)
    client.dispatcher = LocalDispatcher(client, sweep_interval_seconds=0.1)
    await client.dispatcher.start()
    try:
        run = await client.invoke("fetcher", None)
        assert await wait_until_final(client, run.id) is RunStatus.COMPLETED
    finally:
        await client.dispatcher.stop()

    finished = await client.get_run(run.id)
    assert finished.output["answer"]["sent"] == '{"q": 1}'
    (task,) = finished.tasks
    assert (task.kind, task.status, task.attempts) == ("fetch", TaskStatus.COMPLETED, 2)
    assert hits["/flaky"] == 2
    assert finished.invocation_count <= 4, "the run waits (no invocation) while fetches fly"


async def test_a_stale_fetch_message_changes_nothing(tmp_path: Path, target: tuple[str, Any]) -> None:
    url, hits = target
    client = make_client(SQLiteStore(tmp_path / "runs.db"))
    client.dispatcher = LocalDispatcher(client)

    @client.define_job(id="once", trigger=invoke_trigger())
    async def once(payload: Any, io: IO, ctx: Context) -> Any:
        return (await io.background_fetch("call", f"{url}/ok"))["status"]

    run = await client.invoke("once", None)
    await client.execute(run.id)
    await client.dispatcher.stop()
    (task,) = (await client.get_run(run.id)).tasks
    assert task.status is TaskStatus.COMPLETED and hits["/ok"] == 1

    stale = FetchMessage(run_id=run.id, task_id=task.id, key="call", attempt=1, url=f"{url}/ok")
    await perform_fetch(client, stale)
    assert hits["/ok"] == 1
