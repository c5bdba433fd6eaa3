"""Saves screenshots of the dashboard's three pages to docs/screenshots/.

    .venv/bin/python docs/screenshots.py

It defines a few demo jobs on a throw-away SQLite store, runs them to a mix of statuses
(completed with retried tasks and subtasks, failed, waiting, canceled, invalid payload),
serves the dashboard with uvicorn on a free local port and photographs `/` (jobs.png),
`/jobs/{id}` (job.png) and `/runs/{id}` (run.png) in headless Chromium
(``apt-get install -y chromium``; never ``playwright install``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pydantic
import uvicorn
from playwright.sync_api import sync_playwright
from starlette.applications import Starlette
from triggerfish.adapters.asgi.dashboard import dashboard_routes
from triggerfish.core import (
    Client,
    LocalDispatcher,
    RetryPolicy,
    SQLiteStore,
    event_trigger,
    interval_trigger,
    invoke_trigger,
)

OUT = Path(__file__).parent / "screenshots"
API_KEY = "screenshot-key"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class Signup(pydantic.BaseModel):
    email: str
    plan: str


def build_client(db: Path) -> Client:
    """A client with demo jobs whose runs end in a variety of statuses."""
    client = Client("acme", store=SQLiteStore(str(db)))
    crm_calls: dict[str, int] = {}

    @client.define_job(
        "user-signup",
        name="Welcome a new user",
        version="1.4.0",
        trigger=event_trigger("user.created", schema=Signup),
    )
    async def signup(payload: Signup, io: Any, ctx: Any) -> dict[str, Any]:
        profile = await io.run_task(
            "load-profile", lambda: {"email": payload.email, "plan": payload.plan}
        )
        io.logger.info("profile loaded", plan=profile["plan"])

        def crm() -> dict[str, str]:
            crm_calls[payload.email] = crm_calls.get(payload.email, 0) + 1
            if crm_calls[payload.email] < 3:
                raise ConnectionError("CRM answered 503")
            return {"contact_id": "c_81723"}

        await io.run_task(
            "sync-crm", crm, name="Sync to CRM", retry=RetryPolicy(3, min_timeout=0.2, factor=1.5)
        )

        async def emails() -> int:
            await io.run_task("render", lambda: "<h1>Welcome!</h1>", name="Render template")
            await io.wait("throttle", seconds=0.6)
            await io.run_task("deliver", lambda: {"message_id": "m-1"}, name="Deliver email")
            return 1

        sent = await io.run_task("send-welcome", emails, name="Send welcome email")
        io.logger.warning("trial ends soon", days=14)
        return {"emails_sent": sent, "contact": "c_81723"}

    @client.define_job(
        "nightly-report",
        name="Nightly report",
        version="0.3.2",
        trigger=interval_trigger(86400),
    )
    async def report(payload: Any, io: Any, ctx: Any) -> None:
        await io.run_task("query", lambda: [1, 2, 3], name="Query warehouse")

        def upload() -> None:
            raise PermissionError("bucket reports-prod denies PutObject")

        await io.run_task("upload", upload, name="Upload PDF")

    @client.define_job("reminder", name="Send a reminder", trigger=invoke_trigger())
    async def reminder(payload: Any, io: Any, ctx: Any) -> str:
        await io.run_task("schedule", lambda: payload, name="Schedule reminder")
        await io.wait("until-due", seconds=3600)
        return "sent"

    return client


async def make_runs(client: Client) -> dict[str, str]:
    """Starts the demo runs and waits until each reached the status it is meant to show."""
    signups = [
        await client.send_event("user.created", {"email": f"ada{i}@example.com", "plan": "pro"})
        for i in range(2)
    ]
    await client.send_event("user.created", {"email": "nobody@example.com"})
    report = await client.invoke("nightly-report", {"ts": "2025-01-01T00:00:00Z"})
    canceled = await client.invoke("reminder", {"to": "grace@example.com"})
    waiting = await client.invoke("reminder", {"to": "alan@example.com"})
    expected = {e.run_ids[0]: "COMPLETED" for e in signups}
    expected.update({report.id: "FAILED", canceled.id: "WAITING", waiting.id: "WAITING"})
    for _ in range(200):
        runs = [await client.get_run(run_id, tasks=False) for run_id in expected]
        if all(run.status.value == expected[run.id] for run in runs):
            break
        await asyncio.sleep(0.1)
    await client.cancel_run(canceled.id)
    return {"job": "user-signup", "run": signups[0].run_ids[0]}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> int:
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install -y chromium", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    logging.getLogger("triggerfish").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        client = build_client(Path(tmp) / "demo.db")
        ids: dict[str, str] = {}

        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            client.dispatcher = dispatcher = LocalDispatcher(client)
            await dispatcher.start()
            ids.update(await make_runs(client))
            yield
            await dispatcher.stop()

        app = Starlette(routes=dashboard_routes(client, api_key=API_KEY), lifespan=lifespan)
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started and thread.is_alive():
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        try:
            shoot(base, ids)
        finally:
            server.should_exit = True
            thread.join(10)
    for name in ("jobs", "job", "run"):
        print(OUT / f"{name}.png")
    return 0


def shoot(base: str, ids: dict[str, str]) -> None:
    """Logs in and saves the three pages as PNGs."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{base}/login")
        page.fill("input[name=api_key]", API_KEY)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        page.screenshot(path=str(OUT / "jobs.png"), full_page=True)
        page.goto(f"{base}/jobs/{ids['job']}")
        page.screenshot(path=str(OUT / "job.png"), full_page=True)
        page.goto(f"{base}/runs/{ids['run']}")
        page.locator("details[id^='task-']").first.evaluate("d => d.open = true")
        page.screenshot(path=str(OUT / "run.png"), full_page=True)
        browser.close()


if __name__ == "__main__":
    sys.exit(main())
