"""Event waits, delayed events and callback URLs through the app under uvicorn (issue 10)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from support.live_server import API_KEY, ThreadedServer
from triggerfish.adapters.asgi import create_app
from triggerfish.core import (
    IO,
    CallbackFailed,
    Client,
    Context,
    SQLiteStore,
    WaitTimeout,
    invoke_trigger,
)

AUTH = {"Authorization": f"Bearer {API_KEY}"}


def make_client(db_path: Path, **options: Any) -> tuple[Client, list[str]]:
    client = Client("waits", store=SQLiteStore(db_path), api_key=API_KEY, **options)
    urls: list[str] = []

    @client.define_job(id="approval", trigger=invoke_trigger())
    async def approval(payload: Any, io: IO, ctx: Context) -> Any:
        try:
            return await io.wait_for_request("approve", urls.append, timeout=600)
        except WaitTimeout as exc:
            return {"timeout": exc.key}

    @client.define_job(id="paid", trigger=invoke_trigger())
    async def paid(payload: Any, io: IO, ctx: Context) -> Any:
        event = await io.wait_for_event("paid", "order.paid", filter={"order": [payload]})
        return event.payload

    return client, urls


def wait_for(http: httpx.Client, run_id: str, status: str) -> Any:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        run = http.get(f"/api/runs/{run_id}").json()
        if run["status"] == status:
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} never reached {status}: {run}")


def test_the_first_post_to_the_callback_url_resumes_the_run_and_later_ones_get_409(
    tmp_path: Path,
) -> None:
    client, urls = make_client(tmp_path / "runs.db")
    with ThreadedServer(create_app(client)) as server, httpx.Client(
        base_url=server.url, headers=AUTH
    ) as http:
        run_id = http.post("/api/jobs/approval/invoke", json={}).json()["id"]
        waiting = wait_for(http, run_id, "WAITING")
        assert waiting["tasks"][0]["kind"] == "request"
        (url,) = urls
        assert url.startswith(f"{server.url}/api/callbacks/")  # the request's base URL
        token = url.rsplit("/", 1)[1]
        assert len(token) >= 43

        assert httpx.post(f"{server.url}/api/callbacks/nope", json={}).status_code == 404
        first = httpx.post(url, json={"approved": True})  # no API key: the token is the key
        assert (first.status_code, first.json()) == (200, {"status": "resumed"})
        again = httpx.post(url, json={"approved": False})
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "callback_used"
        assert httpx.post(url, content=b"{not json").status_code == 400

        done = wait_for(http, run_id, "COMPLETED")
        assert done["output"] == {"approved": True}
        assert urls == [url]  # fn was called once


def test_the_clients_base_url_wins_over_the_requests(tmp_path: Path) -> None:
    client, urls = make_client(tmp_path / "runs.db", base_url="https://jobs.example.com/tf")
    with ThreadedServer(create_app(client)) as server, httpx.Client(
        base_url=server.url, headers=AUTH
    ) as http:
        run_id = http.post("/api/jobs/approval/invoke", json={}).json()["id"]
        wait_for(http, run_id, "WAITING")
        assert urls[0].startswith("https://jobs.example.com/tf/api/callbacks/")
        path = urls[0].removeprefix("https://jobs.example.com/tf")
        assert httpx.post(server.url + path, json=[1, 2]).status_code == 200
        assert wait_for(http, run_id, "COMPLETED")["output"] == [1, 2]


def test_events_sent_through_the_api_wake_waits_and_can_be_delayed_and_canceled(
    tmp_path: Path,
) -> None:
    client, _ = make_client(tmp_path / "runs.db")
    with ThreadedServer(create_app(client)) as server, httpx.Client(
        base_url=server.url, headers=AUTH
    ) as http:
        run_id = http.post("/api/jobs/paid/invoke", json={"payload": "o-1"}).json()["id"]
        assert wait_for(http, run_id, "WAITING")["tasks"][0]["kind"] == "event"

        delayed = http.post("/api/events", json={"name": "order.paid", "payload": {"order": "o-1"},
                                                 "id": "late", "deliver_after": 3600})  # fmt: skip
        assert delayed.status_code == 202
        assert delayed.json()["status"] == "pending" and delayed.json()["deliver_at"]
        cancel = http.post("/api/events/late/cancel")
        assert cancel.json() == {"id": "late", "canceled": True}
        assert http.post("/api/events/late/cancel").json()["canceled"] is False
        missing = http.post("/api/events/missing/cancel")
        assert (missing.status_code, missing.json()["error"]["code"]) == (404, "event_not_found")
        both = http.post("/api/events", json={"name": "x", "deliver_after": 5,
                                              "deliver_at": "2030-01-01T00:00:00Z"})  # fmt: skip
        assert both.status_code == 422

        soon = http.post("/api/events", json={"name": "order.paid", "payload": {"order": "o-1"},
                                              "deliver_after": 0.5})  # fmt: skip
        assert soon.json()["status"] == "pending"
        done = wait_for(http, run_id, "COMPLETED")  # delivered by the app's sweeper
        assert done["output"] == {"order": "o-1"}
        assert http.post("/api/callbacks/x").status_code == 404


def test_fail_and_heartbeat_posts_follow_the_token_rules(tmp_path: Path) -> None:
    """POST {url}/heartbeat keeps the wait (200, body ignored), POST {url}/fail ends it with
    CallbackFailed (200), then both answer 409; unknown tokens 404 (issue 18 item 2)."""
    client = Client("waits", store=SQLiteStore(tmp_path / "runs.db"), api_key=API_KEY)
    urls: list[str] = []

    @client.define_job(id="hb", trigger=invoke_trigger())
    async def hb(payload: Any, io: IO, ctx: Context) -> Any:
        try:
            return await io.wait_for_request("ok", urls.append, heartbeat_timeout=600)
        except CallbackFailed as exc:
            return {"failed": exc.error}

    with ThreadedServer(create_app(client)) as server, httpx.Client(
        base_url=server.url, headers=AUTH
    ) as http:
        run_id = http.post("/api/jobs/hb/invoke", json={}).json()["id"]
        wait_for(http, run_id, "WAITING")
        (url,) = urls
        beat = httpx.post(f"{url}/heartbeat", content=b"anything, even {not json")
        assert (beat.status_code, beat.json()) == (200, {"status": "alive"})
        assert httpx.post(f"{server.url}/api/callbacks/nope/heartbeat").status_code == 404
        assert httpx.post(f"{server.url}/api/callbacks/nope/fail", json={}).status_code == 404
        assert httpx.post(f"{url}/fail", json=["not", "an object"]).status_code == 400
        assert httpx.post(f"{url}/fail", json={"type": 7}).status_code == 400

        failed = httpx.post(f"{url}/fail", json={"type": "Declined", "message": "no"})
        assert (failed.status_code, failed.json()) == (200, {"status": "resumed"})
        for late in (httpx.post(f"{url}/fail", json={}), httpx.post(f"{url}/heartbeat"),
                     httpx.post(url, json={})):  # fmt: skip
            assert late.status_code == 409 and late.json()["error"]["code"] == "callback_used"

        done = wait_for(http, run_id, "COMPLETED")
        assert done["output"] == {"failed": {"type": "Declined", "message": "no"}}
