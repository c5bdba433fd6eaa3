"""background_fetch with bytes (issue 8, item 9): a bytes body is sent as given, a binary
answer comes back intact (base64), a JSON answer parsed; inline, with the local worker, and
through a FetchMessage as the SQS worker receives it.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.http_target import BINARY, http_target
from support.jobs import make_client
from triggerfish.core import (
    IO,
    Client,
    Context,
    LocalDispatcher,
    RunStatus,
    SQLiteStore,
    invoke_trigger,
)
from triggerfish.core.fetch import FetchMessage, perform_fetch
from triggerfish.core.testing import drive

PAYLOAD = bytes(range(256)) * 4  # not UTF-8


@pytest.fixture
def store(sqlite_or_moto_store: Any) -> Any:
    """SQLite and DynamoDB (moto server) only."""
    return sqlite_or_moto_store


@pytest.fixture
def url() -> Iterator[str]:
    with http_target() as (base, _):
        yield base


def define_job(client: Client, url: str) -> None:
    @client.define_job(id="bytes", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        sent = await io.background_fetch("send", f"{url}/echo", method="POST", body=PAYLOAD)
        binary = await io.background_fetch("binary", f"{url}/bytes")
        text = await io.background_fetch("text", f"{url}/text")
        return {"sent": sent, "binary": binary, "text": text}


def check(output: dict[str, Any]) -> None:
    sent, binary, text = output["sent"], output["binary"], output["text"]
    assert sent["status"] == 200
    assert sent["json"]["method"] == "POST"
    assert base64.b64decode(sent["json"]["sent_base64"]) == PAYLOAD
    assert sent["body"] is not None and sent["body_base64"] is None
    assert binary["body"] is None and binary["json"] is None
    assert base64.b64decode(binary["body_base64"]) == BINARY
    assert text["body"] == "héllo wörld" and text["json"] is None


async def test_inline_fetch_sends_bytes_as_given_and_returns_binary_intact(
    store: Any, url: str
) -> None:
    client = make_client(store)
    define_job(client, url)
    run = await client.invoke("bytes", None)
    assert (await drive(client, run.id)).status is RunStatus.COMPLETED
    check((await client.get_run(run.id)).output)


async def test_worker_fetch_sends_bytes_as_given_and_returns_binary_intact(
    tmp_path: Path, url: str
) -> None:
    client = Client("bg", store=SQLiteStore(tmp_path / "runs.db"))
    define_job(client, url)
    client.dispatcher = LocalDispatcher(client, sweep_interval_seconds=0.1)
    await client.dispatcher.start()
    try:
        run = await client.invoke("bytes", None)
        for _ in range(400):
            if (await client.get_run(run.id, tasks=False)).status.is_final:
                break
            await asyncio.sleep(0.05)
    finally:
        await client.dispatcher.stop()
    finished = await client.get_run(run.id)
    assert finished.status is RunStatus.COMPLETED, finished.error
    assert {t.kind for t in finished.tasks} == {"fetch"}
    check(finished.output)


class Captured:
    """A dispatcher that keeps fetch messages as JSON, as SQS would carry them."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    async def dispatch(self, run_id: str, at: float) -> None:
        return None

    async def send_fetch(self, message: FetchMessage) -> None:
        self.messages.append(message.model_dump_json())


async def test_a_fetch_message_carries_bytes_through_json(store: Any, url: str) -> None:
    client = make_client(store)
    define_job(client, url)
    captured = Captured()
    client.dispatcher = captured  # type: ignore[assignment]
    run = await client.invoke("bytes", None)
    for _ in range(6):
        outcome = await client.execute(run.id)
        if outcome.status.is_final:
            break
        while captured.messages:
            message = FetchMessage.model_validate_json(captured.messages.pop(0))
            await perform_fetch(client, message)
    finished = await client.get_run(run.id)
    assert finished.status is RunStatus.COMPLETED, finished.error
    check(finished.output)


def test_a_body_that_is_neither_str_nor_bytes_is_refused() -> None:
    with pytest.raises(TypeError, match="str or bytes"):
        FetchMessage.encode_body({"a": 1})  # type: ignore[arg-type]
