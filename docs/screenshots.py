"""Saves screenshots of the dashboard's pages to docs/screenshots/.

    .venv/bin/python docs/screenshots.py

It defines a few demo jobs (and the coordination examples of examples/coordination.py) on a
throw-away SQLite store, runs them to a mix of statuses (completed with retried tasks and
subtasks, failed, waiting, canceled, invalid payload, waiting on a child run, an event or a
request), serves the dashboard with uvicorn on a free local port and photographs `/`
(jobs.png), `/jobs/{id}` (job.png), `/runs/{id}` (run.png) and the run pages listed in
SHOTS in headless Chromium (``apt-get install -y chromium``; never ``playwright install``).
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
from triggerfish.adapters.asgi.events import DEFAULT_EVENTS_INTERVAL_SECONDS
from triggerfish.core import (
    Client,
    LocalDispatcher,
    RetryPolicy,
    SQLiteStore,
    Task,
    WaitTimeout,
    event_trigger,
    interval_trigger,
    invoke_trigger,
)

ROOT = Path(__file__).resolve().parent.parent
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


SHOTS = {
    "statuses": "a completed run with statuses and an io.parallel task with its items",
    "parent": "a run WAITING on its child run (io.invoke_and_wait), linking to the child",
    "child": "the child run, linking back to its parent",
    "wait-event": "a run WAITING on an event (io.wait_for_event)",
    "wait-request": "a run WAITING on a request to its callback URL (io.wait_for_request)",
    "retry": "a FAILED run with the Retry button beside Re-run",
}
"""The run pages photographed besides jobs/job/run: file name -> what it shows."""


class Signup(pydantic.BaseModel):
    email: str
    plan: str


def build_client(db: Path) -> Client:
    """A client with demo jobs whose runs end in a variety of statuses."""
    client = Client("acme", store=SQLiteStore(str(db)), base_url="https://jobs.example.com")
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

    define_coordination_examples(client)
    define_waiting_jobs(client)
    return client


def define_coordination_examples(client: Client) -> None:
    """Adds examples/coordination.py's jobs: crawl-site (statuses, parallel, a child run)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from examples.coordination import define_coordination_jobs

    define_coordination_jobs(client)


class GatewayDown(Exception):
    """The demo payment gateway refused the charge."""


def define_waiting_jobs(client: Client) -> None:
    """Jobs that stop WAITING on a child run, an event or a request, and one that FAILS."""

    @client.define_job("publish-release", name="Publish a release", trigger=invoke_trigger())
    async def publish(payload: Any, io: Any, ctx: Any) -> dict[str, Any]:
        notes = await io.run_task("notes", lambda: f"Release {payload['tag']}", name="Write notes")
        build = await io.invoke_and_wait("build", "build-release", {"tag": payload["tag"]})
        return {"notes": notes, **build}

    @client.define_job("build-release", name="Build release artifacts", trigger=invoke_trigger())
    async def build(payload: Any, io: Any, ctx: Any) -> dict[str, Any]:
        wheels = await io.parallel(
            "wheels", ["linux", "macos", "windows"], lambda os_: f"{payload['tag']}-{os_}.whl"
        )
        await io.wait("soak", seconds=3600)
        return {"wheels": wheels}

    @client.define_job("ship-order", name="Ship an order", trigger=invoke_trigger())
    async def ship(payload: Any, io: Any, ctx: Any) -> dict[str, Any]:
        await io.run_task("reserve", lambda: {"order_id": payload["order_id"]}, name="Reserve")
        try:
            paid = await io.wait_for_event(
                "paid", "order.paid", filter={"order_id": [payload["order_id"]]}, timeout=86400
            )
        except WaitTimeout:
            return {"shipped": False}
        return {"shipped": True, "amount": paid.payload["amount"]}

    @client.define_job("approve-refund", name="Approve a refund", trigger=invoke_trigger())
    async def approve(payload: Any, io: Any, ctx: Any) -> dict[str, Any]:
        def hand_out(url: str) -> str:
            io.logger.info("approve or refuse with a POST", url=url)
            return "mailed"

        answer = await io.wait_for_request("approval", hand_out, timeout=3600)
        return {"approved": bool(answer.get("approved"))}

    @client.define_job("charge-order", name="Charge an order", trigger=invoke_trigger())
    async def charge(payload: Any, io: Any, ctx: Any) -> dict[str, Any]:
        await io.run_task("reserve-stock", lambda: {"reserved": True}, name="Reserve stock")

        def gateway() -> None:
            raise GatewayDown(f"gateway refused order {payload['order']}")

        return await io.run_task(  # type: ignore[no-any-return]
            "charge", gateway, at_most_once=True, retry=RetryPolicy(2, min_timeout=0.1)
        )


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
    crawl = await client.invoke("crawl-site", {"urls": ["home", "pricing", "docs", "blog"]})
    parent = await client.invoke("publish-release", {"tag": "v2.1.0"})
    ship = await client.invoke("ship-order", {"order_id": "o-1042"})
    refund = await client.invoke("approve-refund", {"order_id": "o-977", "amount": 30})
    charge = await client.invoke("charge-order", {"order": "o-1043", "amount": 42})
    expected = {e.run_ids[0]: "COMPLETED" for e in signups}
    expected.update({report.id: "FAILED", canceled.id: "WAITING", waiting.id: "WAITING"})
    expected.update({crawl.id: "COMPLETED", parent.id: "WAITING", ship.id: "WAITING"})
    expected.update({refund.id: "WAITING", charge.id: "FAILED"})
    await _settle(client, expected)
    child = _child_run_id((await client.get_run(parent.id)).tasks)
    await _settle(client, {child: "WAITING"})
    await client.cancel_run(canceled.id)
    return {
        "job": "user-signup",
        "run": signups[0].run_ids[0],
        "statuses": crawl.id,
        "parent": parent.id,
        "child": child,
        "wait-event": ship.id,
        "wait-request": refund.id,
        "retry": charge.id,
    }


async def _settle(client: Client, expected: dict[str, str]) -> None:
    """Waits (up to 30 s) until every run has its expected status."""
    for _ in range(300):
        runs = [await client.get_run(run_id, tasks=False) for run_id in expected]
        if all(run.status.value == expected[run.id] for run in runs):
            return
        await asyncio.sleep(0.1)
    late = {run.id: run.status.value for run in runs if run.status.value != expected[run.id]}
    raise RuntimeError(f"runs did not reach their status: {late}")


def _child_run_id(tasks: list[Task]) -> str:
    """The first child run id recorded in a task tree."""
    for task in tasks:
        if task.child_run_id:
            return task.child_run_id
        found = _child_run_id(task.children)
        if found:
            return found
    return ""


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
        # the run page's live events route reads this (create_app sets it)
        app.state.triggerfish_events_interval = DEFAULT_EVENTS_INTERVAL_SECONDS
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
    for name in ("jobs", "job", "run", *SHOTS):
        print(OUT / f"{name}.png")
    return 0


def shoot(base: str, ids: dict[str, str]) -> None:
    """Logs in and saves the pages as PNGs."""
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
        for name in SHOTS:
            page.goto(f"{base}/runs/{ids[name]}")
            # open the tasks that carry the point of the picture (a child run link, a wait)
            for kind in ("invoke", "event", "request") if name != "statuses" else ():
                for summary in page.locator(
                    f"details[id^='task-'] summary:has(.kind:text-is('{kind}'))"
                ).all():
                    summary.evaluate("s => s.parentElement.open = true")
            page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
        browser.close()


if __name__ == "__main__":
    sys.exit(main())
