"""`POST /api/events/{id}/cancel-runs`, `GET /api/runs/{id}/statuses` and an event's
`context` through the app under uvicorn (issue 16, items 1 and 4)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from support.live_server import API_KEY, ThreadedServer
from triggerfish.adapters.asgi import create_app
from triggerfish.core import IO, Client, Context, SQLiteStore, event_trigger, invoke_trigger

AUTH = {"Authorization": f"Bearer {API_KEY}"}


def make_client(db_path: Path) -> Client:
    client = Client("v2", store=SQLiteStore(db_path), api_key=API_KEY)

    @client.define_job(id="slow", trigger=event_trigger("order.paid"))
    async def slow(payload: Any, io: IO, ctx: Context) -> Any:
        await io.wait("long", seconds=3600)

    @client.define_job(id="echo", trigger=event_trigger("order.paid"))
    async def echo(payload: Any, io: IO, ctx: Context) -> Any:
        return {"context": ctx.event.context}

    @client.define_job(id="progress", trigger=invoke_trigger())
    async def progress(payload: Any, io: IO, ctx: Context) -> Any:
        status = await io.create_status("rows", label="Importing", state="loading")
        await status.update("done", label="Imported", state="success", data={"rows": 2})
        return "ok"

    return client


def wait_for(http: httpx.Client, run_id: str, *statuses: str) -> Any:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        run = http.get(f"/api/runs/{run_id}").json()
        if run["status"] in statuses:
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} never reached {statuses}: {run}")


def test_cancel_runs_for_an_event_and_the_context_it_carried(tmp_path: Path) -> None:
    client = make_client(tmp_path / "runs.db")
    with ThreadedServer(create_app(client)) as server, httpx.Client(
        base_url=server.url, headers=AUTH
    ) as http:
        sent = http.post("/api/events", json={"name": "order.paid", "id": "ev-1",
                                              "context": {"tenant": "t-1"}})  # fmt: skip
        assert sent.status_code == 202 and sent.json()["context"] == {"tenant": "t-1"}
        runs = {http.get(f"/api/runs/{r}").json()["job_id"]: r for r in sent.json()["run_ids"]}
        assert wait_for(http, runs["echo"], "COMPLETED")["output"] == {
            "context": {"tenant": "t-1"}
        }
        wait_for(http, runs["slow"], "WAITING")

        answer = http.post("/api/events/ev-1/cancel-runs")
        assert answer.status_code == 200
        assert answer.json() == {"id": "ev-1", "canceled_run_ids": [runs["slow"]]}
        assert http.get(f"/api/runs/{runs['slow']}").json()["status"] == "CANCELED"
        missing = http.post("/api/events/missing/cancel-runs")
        assert (missing.status_code, missing.json()["error"]["code"]) == (404, "event_not_found")
        bad = http.post("/api/events", json={"name": "x", "context": [1]})
        assert bad.status_code == 422


def test_run_statuses_answer_the_run_and_its_statuses(tmp_path: Path) -> None:
    client = make_client(tmp_path / "runs.db")
    with ThreadedServer(create_app(client)) as server, httpx.Client(
        base_url=server.url, headers=AUTH
    ) as http:
        run_id = http.post("/api/jobs/progress/invoke", json={}).json()["id"]
        wait_for(http, run_id, "COMPLETED")
        answer = http.get(f"/api/runs/{run_id}/statuses")
        assert answer.status_code == 200
        body = answer.json()
        assert body["run"] == {"id": run_id, "status": "COMPLETED", "output": "ok"}
        (status,) = body["statuses"]
        assert (status["key"], status["label"], status["data"]) == ("rows", "Imported", {"rows": 2})
        assert http.get("/api/runs/run_nope/statuses").status_code == 404
        assert httpx.get(f"{server.url}/api/runs/{run_id}/statuses").status_code == 401
