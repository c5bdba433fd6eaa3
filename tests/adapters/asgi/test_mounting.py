"""The app mounted under /jobs in a parent Starlette or FastAPI app, served by uvicorn."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from triggerfish.adapters.asgi import create_app

API_KEY = "test-key-0123456789"
HEADERS = {"Authorization": f"Bearer {API_KEY}"}


async def _home(request: Any) -> PlainTextResponse:
    return PlainTextResponse("parent")


def starlette_parent(jobs: Starlette) -> Any:
    """A Starlette app that forwards its lifespan to the mounted app (the documented way)."""
    return Starlette(
        routes=[Route("/", _home), Mount("/jobs", app=jobs)],
        lifespan=jobs.router.lifespan_context,
    )


def fastapi_parent(jobs: Starlette) -> Any:
    """A FastAPI app that mounts ours and does not forward the lifespan (lazy start)."""
    parent = FastAPI()

    @parent.get("/")
    def home() -> dict[str, str]:
        return {"app": "parent"}

    parent.mount("/jobs", jobs)
    return parent


def _wait_completed(base: str, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while True:
        run: dict[str, Any] = httpx.get(f"{base}/api/runs/{run_id}", headers=HEADERS).json()
        if run["status"] == "COMPLETED" or time.monotonic() > deadline:
            return run
        time.sleep(0.05)


@pytest.mark.parametrize("make_parent", [starlette_parent, fastapi_parent])
def test_the_api_works_under_the_jobs_prefix_of_a_parent_app(
    serve: Any, tmp_path: Path, make_parent: Any, make_live_client: Any
) -> None:
    client = make_live_client(tmp_path / "mounted.db")
    parent = make_parent(create_app(client))

    with serve(parent, health_path="/jobs/health") as server:
        base = f"{server.url}/jobs"
        assert httpx.get(server.url + "/").status_code == 200
        event = httpx.post(
            f"{base}/api/events", json={"name": "user.created", "payload": {"name": "Ada"}},
            headers=HEADERS,
        ).json()
        run = _wait_completed(base, event["run_ids"][0])
        assert run["status"] == "COMPLETED"

        invoked = httpx.post(f"{base}/api/jobs/flaky/invoke", json={}, headers=HEADERS)
        assert invoked.headers["location"] == f"{base}/api/runs/{invoked.json()['id']}"

        assert httpx.get(f"{base}/api/runs", headers=HEADERS).json()["runs"]
        assert httpx.get(f"{base}/api/runs").status_code == 401
        openapi = httpx.get(f"{base}/openapi.json").json()
        assert openapi["servers"] == [{"url": "/jobs"}]
        missing = httpx.get(f"{base}/api/runs/nope", headers=HEADERS)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "run_not_found"
    client.store.close()


def test_a_forwarded_lifespan_stops_the_dispatcher_at_shutdown(
    serve: Any, tmp_path: Path, make_live_client: Any
) -> None:
    client = make_live_client(tmp_path / "lifespan.db")
    with serve(starlette_parent(create_app(client)), health_path="/jobs/health"):
        assert client.dispatcher is not None
    assert client.dispatcher is None
    client.store.close()


def test_the_app_starts_a_local_dispatcher_the_client_was_given(tmp_path: Path) -> None:
    import asyncio

    from triggerfish.adapters.asgi import create_app
    from triggerfish.core import Client, LocalDispatcher, SQLiteStore

    dispatcher = LocalDispatcher()
    client = Client("given", store=SQLiteStore(tmp_path / "g.db"), dispatcher=dispatcher,
                    api_key="k")  # fmt: skip
    app = create_app(client)

    async def lifespan() -> tuple[bool, bool]:
        async with app.router.lifespan_context(app):
            during = dispatcher.is_started
        return during, dispatcher.is_started

    assert asyncio.run(lifespan()) == (True, False)
    assert client.dispatcher is dispatcher


@pytest.mark.parametrize("make_parent", [starlette_parent, fastapi_parent])
def test_a_callback_url_handed_to_a_job_keeps_the_mount_prefix(
    serve: Any, tmp_path: Path, make_parent: Any, make_live_client: Any
) -> None:
    from triggerfish.core import IO, Context, invoke_trigger

    client = make_live_client(tmp_path / "callbacks.db")
    urls: list[str] = []

    @client.define_job(id="approval", trigger=invoke_trigger())
    async def approval(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.wait_for_request("approved", urls.append, timeout=600)

    with serve(make_parent(create_app(client)), health_path="/jobs/health") as server:
        base = f"{server.url}/jobs"
        run = httpx.post(f"{base}/api/jobs/approval/invoke", json={}, headers=HEADERS).json()
        deadline = time.monotonic() + 15
        while not urls and time.monotonic() < deadline:
            time.sleep(0.05)
        assert urls and urls[0].startswith(f"{base}/api/callbacks/")
        answer = httpx.post(urls[0], json={"ok": True})
        assert answer.status_code == 200, answer.text
        assert _wait_completed(base, run["id"])["output"] == {"ok": True}
    client.store.close()
