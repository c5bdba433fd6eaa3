"""Child runs and statuses through the app under uvicorn: the API, the dashboard and the CLI."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from triggerfish.adapters.cli import render_run
from triggerfish.core import IO, Client, Context, SQLiteStore, invoke_trigger

KEY = "coordination-key-0123456789"


def define(client: Client) -> None:
    @client.define_job(id="child", trigger=invoke_trigger())
    async def child(payload: Any, io: IO, ctx: Context) -> Any:
        return {"twice": payload["n"] * 2}

    @client.define_job(id="parent", trigger=invoke_trigger())
    async def parent(payload: Any, io: IO, ctx: Context) -> Any:
        status = await io.create_status("progress", label="Starting", state="loading")
        got = await io.invoke_and_wait("kid", "child", {"n": 4})
        await status.update("done", label="Done", state="success", data={"twice": got["twice"]})
        return got


def test_parent_and_child_link_both_ways_and_statuses_show_everywhere(
    tmp_path: Path, serve: Any
) -> None:
    from triggerfish.adapters.asgi import create_app

    client = Client("coord", store=SQLiteStore(tmp_path / "runs.db"), api_key=KEY)
    define(client)
    with serve(create_app(client)) as server, httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=10.0
    ) as http:
        started = http.post("/api/jobs/parent/invoke", json={"payload": None})
        assert started.status_code in (200, 201, 202), started.text
        run_id = started.json()["id"]
        run: Any = None
        for _ in range(300):
            run = http.get(f"/api/runs/{run_id}").json()
            if run["status"] == "COMPLETED":
                break
            time.sleep(0.05)
        assert run["status"] == "COMPLETED", run
        assert run["output"] == {"twice": 8}
        kid = next(t for t in run["tasks"] if t["key"] == "kid")
        child_id = kid["child_run_id"]
        child = http.get(f"/api/runs/{child_id}").json()
        assert child["parent_run_id"] == run_id and child["status"] == "COMPLETED"
        (status,) = run["statuses"]
        assert status["key"] == "progress" and status["label"] == "Done"
        assert status["state"] == "success" and status["data"] == {"twice": 8}
        assert [(h["label"], h["state"]) for h in status["history"]] == [("Starting", "loading")]
        assert status["history"][0]["time"]

        text = render_run(run)
        assert "statuses" in text and "progress  [success] Done" in text and "(1 earlier)" in text
        assert f"child run {child_id}" in text
        assert f"parent     {run_id}" in render_run(child)

        with httpx.Client(base_url=server.url, timeout=10.0, follow_redirects=True) as browser:
            browser.post("/login", data={"api_key": KEY, "next": "/"})
            parent_page = browser.get(f"/runs/{run_id}").text
            child_page = browser.get(f"/runs/{child_id}").text
        assert f'href="/runs/{child_id}"' in parent_page
        assert f'href="/runs/{run_id}"' in child_page
        assert "Statuses" in parent_page and "Starting" in parent_page
    client.store.close()
