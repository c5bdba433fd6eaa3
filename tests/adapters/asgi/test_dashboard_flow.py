"""Flow control where a user looks for it (issue 19): why a QUEUED run waits, on its page,
in its job's listing and in the API; priority through the API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from triggerfish.adapters.asgi import create_app
from triggerfish.core import IO, Client, Context, Debounce, SQLiteStore, invoke_trigger

KEY = "flow-key"


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[tuple[Client, httpx.AsyncClient]]:
    client = Client("flow", store=SQLiteStore(tmp_path / "runs.db"))

    @client.define_job("digest", trigger=invoke_trigger(), debounce=Debounce(period=3600))
    async def digest(payload: Any, io: IO, ctx: Context) -> Any:
        return payload

    transport = httpx.ASGITransport(app=create_app(client, api_key=KEY))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        answer = await http.post("/login", data={"api_key": KEY, "next": "/"})
        assert answer.status_code == 303
        yield client, http
    client.store.close()


async def test_a_queued_run_shows_why_it_waits(app: tuple[Client, httpx.AsyncClient]) -> None:
    _, http = app
    auth = {"Authorization": f"Bearer {KEY}"}
    answer = await http.post("/api/jobs/digest/invoke", json={"payload": {"n": 1}, "priority": 3},
                             headers=auth)  # fmt: skip
    assert answer.status_code == 202
    run = answer.json()
    assert (run["status"], run["queued_reason"], run["priority"]) == ("QUEUED", "debounce", 3)

    page = await http.get(f"/runs/{run['id']}")
    assert "waiting on debounce" in page.text
    listing = await http.get("/jobs/digest")
    assert '<span class="queued-reason">debounce</span>' in listing.text
    bad = await http.post("/api/events", json={"name": "x", "priority": "high"}, headers=auth)
    assert bad.status_code == 422
