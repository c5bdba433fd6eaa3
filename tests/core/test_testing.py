"""`triggerfish.core.testing`: `drive` stops where a run waits for an outside answer, and
`answer_request` answers a request wait as its callback URL would (DESIGN.md, Testing;
issue 21, item 4)."""

from __future__ import annotations

from typing import Any

import pytest
from support.jobs import make_client
from triggerfish.core import (
    IO,
    ConfigError,
    Context,
    RetryPolicy,
    RunStatus,
    WaitTimeout,
    invoke_trigger,
)
from triggerfish.core.callbacks import CallbackAnswer
from triggerfish.core.testing import answer_request, drive


def define_approval(client: Any) -> list[str]:
    """A job that waits a day, asks for an approval (an hour to answer), then finishes."""
    urls: list[str] = []

    @client.define_job(id="approval", trigger=invoke_trigger())
    async def approval(payload: Any, io: IO, ctx: Context) -> Any:
        await io.wait("cool-off", seconds=86400)
        try:
            answer = await io.wait_for_request("approve", urls.append, timeout=3600)
        except WaitTimeout:
            return {"approved": None}
        return {"approved": answer["approved"]}

    return urls


async def test_drive_stops_at_a_request_wait_and_answer_request_resumes_it(store: Any) -> None:
    client = make_client(store, base_url="https://jobs.example.com")
    urls = define_approval(client)
    run = await client.invoke("approval")

    waiting = await drive(client, run.id)
    assert waiting.status is RunStatus.WAITING and waiting.waiting_for == ["approve"]
    assert len(urls) == 1  # the day's wait was skipped, the URL handed out once

    answer = await answer_request(client, run.id, "approve", {"approved": True})
    assert answer is CallbackAnswer.RESUMED
    again = await answer_request(client, run.id, "approve", {"approved": False})
    assert again is CallbackAnswer.USED  # as a second POST to the URL gets 409

    done = await drive(client, run.id)
    assert done.status is RunStatus.COMPLETED and done.waiting_for == []
    assert (await client.get_run(run.id)).output == {"approved": True}


async def test_skip_timeouts_drives_through_the_wait_to_its_timeout(store: Any) -> None:
    client = make_client(store, base_url="https://jobs.example.com")
    define_approval(client)
    run = await client.invoke("approval")
    report = await drive(client, run.id, skip_timeouts=True)
    assert report.status is RunStatus.COMPLETED
    assert (await client.get_run(run.id)).output == {"approved": None}


async def test_drive_stops_at_an_event_wait_and_an_event_resumes_it(store: Any) -> None:
    client = make_client(store)

    @client.define_job(id="paid", trigger=invoke_trigger())
    async def paid(payload: Any, io: IO, ctx: Context) -> Any:
        await io.wait_for_event("payment", "order.paid", timeout=7200)
        return "shipped"

    run = await client.invoke("paid")
    waiting = await drive(client, run.id)
    assert waiting.status is RunStatus.WAITING and waiting.waiting_for == ["payment"]
    await client.send_event("order.paid", {"order": 1})
    assert (await drive(client, run.id)).status is RunStatus.COMPLETED


async def test_drive_skips_a_retry_due_before_an_outside_waits_timeout(tmp_path: Any) -> None:
    from triggerfish.core import SQLiteStore

    client = make_client(SQLiteStore(tmp_path / "runs.db"), base_url="http://testserver")
    attempts: list[int] = []

    @client.define_job(id="both", trigger=invoke_trigger())
    async def both(payload: Any, io: IO, ctx: Context) -> Any:
        def flaky() -> str:
            attempts.append(1)
            if len(attempts) < 3:
                raise RuntimeError("not yet")
            return "ok"

        retry = RetryPolicy(limit=3, min_timeout=60, randomize=False)
        return await io.parallel("both", ["task", "request"], lambda item: (
            io.run_task("flaky", flaky, retry=retry) if item == "task"
            else io.wait_for_request("approve", lambda url: None, timeout=3600)))

    run = await client.invoke("both")
    waiting = await drive(client, run.id)
    assert waiting.waiting_for == ["approve"] and len(attempts) == 3  # the retries were skipped
    await answer_request(client, run.id, "approve", {"ok": True})
    assert (await drive(client, run.id)).status is RunStatus.COMPLETED
    assert (await client.get_run(run.id)).output == ["ok", {"ok": True}]


async def test_answer_request_for_a_key_that_is_not_waiting_names_the_key(store: Any) -> None:
    client = make_client(store, base_url="https://jobs.example.com")
    define_approval(client)
    run = await client.invoke("approval")
    await drive(client, run.id)
    with pytest.raises(ConfigError, match="'nope'.*'approve'"):
        await answer_request(client, run.id, "nope", {})
    with pytest.raises(ConfigError, match="body"):
        await answer_request(client, run.id, "approve", {"not json": object()})
