"""``GET /api/runs/{id}/events``: live run updates over SSE and by long polling (issue 11).

The app runs under uvicorn; the runs execute in the background on the app's own
LocalDispatcher, and httpx reads the stream as a browser's EventSource would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from triggerfish.adapters.asgi import create_app
from triggerfish.core import IO, Client, Context, SQLiteStore, invoke_trigger

API_KEY = "events-test-key"
PAUSE_SECONDS = 1.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from support.live_server import ThreadedServer

    client = Client("events", store=SQLiteStore(tmp_path_factory.mktemp("ev") / "runs.db"))

    @client.define_job("steps", trigger=invoke_trigger())
    async def steps(payload: Any, io: IO, ctx: Context) -> dict[str, Any]:
        await io.run_task("one", lambda: {"n": 1})
        io.logger.info("between", step=1)
        await io.wait("pause", seconds=PAUSE_SECONDS)
        await io.run_task("two", lambda: "x" * 5000)
        io.logger.info("done")
        return {"ok": True}

    app = create_app(client, api_key=API_KEY, events_interval_seconds=0.1)
    with ThreadedServer(app) as running:
        yield running
    client.store.close()


@pytest.fixture
def http(server: Any) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30.0) as http:
        yield http


def invoke(http: httpx.Client) -> str:
    answer = http.post("/api/jobs/steps/invoke", json={"payload": {}})
    assert answer.status_code == 202, answer.text
    run_id: str = answer.json()["id"]
    return run_id


def read_events(
    http: httpx.Client, run_id: str, headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """The stream's events as ``{"id", "event", "data"}`` until the server closes it."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    with http.stream("GET", f"/api/runs/{run_id}/events", headers=headers) as answer:
        assert answer.status_code == 200, answer.read()
        assert answer.headers["content-type"].startswith("text/event-stream")
        for line in answer.iter_lines():
            if not line:
                if "event" in current:
                    events.append(current)
                current = {}
            elif line.startswith(("id: ", "event: ")):
                name, _, value = line.partition(": ")
                current[name] = value
            elif line.startswith("data: "):
                current["data"] = json.loads(line[len("data: "):])
    return events


def task_states(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["data"]["key"], e["data"]["status"]) for e in events if e["event"] == "task"]


def test_stream_sends_status_task_and_log_changes_in_order_then_end(
    http: httpx.Client,
) -> None:
    run_id = invoke(http)

    events = read_events(http, run_id)

    kinds = [e["event"] for e in events]
    assert kinds[0] == "run" and kinds[-1] == "end" and kinds.count("end") == 1
    assert events[-1]["data"]["status"] == "COMPLETED"
    assert events[-1]["data"]["output"] == {"ok": True}
    states = task_states(events)
    assert ("pause", "COMPLETED") in states
    assert states.index(("one", "COMPLETED")) < states.index(("two", "COMPLETED"))
    logs = [e["data"]["message"] for e in events if e["event"] == "log"]
    assert logs == ["between", "done"]
    order = [(e["event"], e["data"].get("key") or e["data"].get("message")) for e in events]
    assert order.index(("log", "between")) < order.index(("task", "two"))
    statuses = [e["data"]["status"] for e in events if e["event"] == "run"]
    assert statuses[-1] == "COMPLETED" and len(statuses) >= 2
    two = next(e["data"] for e in events if e["event"] == "task" and e["data"]["key"] == "two")
    assert two["output"] is None and two["output_truncated"] is True
    ids = [e["id"] for e in events]
    assert all(ids), "every event carries an id"


def test_reconnecting_with_last_event_id_skips_what_was_seen(http: httpx.Client) -> None:
    run_id = invoke(http)
    first = read_events(http, run_id)
    cut = next(i for i, e in enumerate(first) if e["event"] == "log")

    again = read_events(http, run_id, headers={"Last-Event-ID": first[cut]["id"]})

    seen = {json.dumps(e["data"], sort_keys=True) for e in first[: cut + 1]}
    assert again, "the rest of the run is sent"
    assert not [e for e in again if json.dumps(e["data"], sort_keys=True) in seen]
    assert ("two", "COMPLETED") in task_states(again)
    assert [e["data"]["message"] for e in again if e["event"] == "log"] == ["done"]
    assert again[-1]["event"] == "end"
    tail = read_events(http, run_id, headers={"Last-Event-ID": first[-2]["id"]})
    assert [e["event"] for e in tail] == ["end"]


def test_unknown_run_is_404_and_no_key_is_401(server: Any, http: httpx.Client) -> None:
    missing = http.get("/api/runs/no-such-run/events")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "run_not_found"
    run_id = invoke(http)
    anonymous = httpx.get(f"{server.url}/api/runs/{run_id}/events?poll=1&wait=0")
    assert anonymous.status_code == 401
    wrong = httpx.get(
        f"{server.url}/api/runs/{run_id}/events",
        headers={"Authorization": "Bearer nope"},
    )
    assert wrong.status_code == 401


def test_bad_cursor_and_wait_are_422_naming_the_field(http: httpx.Client) -> None:
    run_id = invoke(http)
    bad_since = http.get(f"/api/runs/{run_id}/events", params={"poll": 1, "since": "x"})
    assert bad_since.status_code == 422
    assert bad_since.json()["error"]["fields"][0]["loc"] == ["query", "since"]
    bad_wait = http.get(f"/api/runs/{run_id}/events", params={"poll": 1, "wait": 60})
    assert bad_wait.status_code == 422
    assert "25" in bad_wait.json()["error"]["message"]
    bad_header = http.get(f"/api/runs/{run_id}/events", headers={"Last-Event-ID": "zz"})
    assert bad_header.status_code == 422
    assert bad_header.json()["error"]["fields"][0]["loc"] == ["header", "Last-Event-ID"]


def test_long_poll_answers_changes_since_a_cursor_until_done(http: httpx.Client) -> None:
    run_id = invoke(http)
    url = f"/api/runs/{run_id}/events"
    collected: list[dict[str, Any]] = []
    cursor = None
    for _ in range(60):
        params: dict[str, Any] = {"poll": 1, "wait": 5}
        if cursor:
            params["since"] = cursor
        answer = http.get(url, params=params)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["events"], "a long poll answers once something changed"
        collected.extend(body["events"])
        cursor = body["cursor"]
        if body["done"]:
            break
    assert collected[-1]["event"] == "end"
    assert collected[-1]["data"]["status"] == "COMPLETED"
    keys = [(e["event"], json.dumps(e["data"], sort_keys=True)) for e in collected]
    assert len(keys) == len(set(keys)), "nothing is answered twice"
    assert ("two", "COMPLETED") in task_states(collected)
    finished = http.get(url, params={"poll": 1, "since": cursor, "wait": 5}).json()
    assert [e["event"] for e in finished["events"]] == ["end"] and finished["done"]


def test_events_interval_outside_its_range_is_refused(tmp_path: Path) -> None:
    client = Client("bad", store=SQLiteStore(tmp_path / "runs.db"))
    with pytest.raises(ValueError, match="events_interval_seconds"):
        create_app(client, api_key="k", events_interval_seconds=0)
    client.store.close()
