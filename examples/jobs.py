"""Example jobs: an event job with a schema, an invoke job that retries, a cron job, and
the waits of issue 10 (an event wait, a callback URL, a delayed event's job).

Serve them with ``make dev`` (``triggerfish dev examples.jobs:client``), then, with the
API key it prints:

    triggerfish send-event user.signed_up '{"email": "ada@example.com", "name": "Ada"}'
    curl -X POST -H "Authorization: Bearer $KEY" -d '{"payload": {"report": "weekly"}}' \\
        http://127.0.0.1:8000/api/jobs/build-report/invoke
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from triggerfish.core import (
    IO,
    Client,
    Context,
    RetryPolicy,
    WaitTimeout,
    cron_trigger,
    event_trigger,
    invoke_trigger,
)

client = Client.from_env("examples")


class SignUp(BaseModel):
    """The payload of a ``user.signed_up`` event."""

    email: str
    name: str


@client.define_job(
    id="welcome-user",
    name="Welcome a new user",
    version="1.0.0",
    trigger=event_trigger("user.signed_up", schema=SignUp),
)
async def welcome_user(payload: SignUp, io: IO, ctx: Context) -> dict[str, Any]:
    """Creates a profile, waits a few seconds, then sends a welcome email (two subtasks)."""
    profile = await io.run_task(
        "create-profile", lambda: {"email": payload.email, "plan": "free"}, icon="user"
    )
    io.logger.info("profile created", email=payload.email)
    await io.wait("settle", seconds=3)

    async def send_welcome() -> str:
        subject = await io.run_task("render-subject", lambda: f"Welcome, {payload.name}!")
        await io.run_task("deliver", lambda: f"sent to {payload.email}")
        return subject

    subject = await io.run_task("send-welcome-email", send_welcome, icon="mail")
    io.logger.info("welcome sent", subject=subject)
    return {"profile": profile, "subject": subject}


class ReportRequest(BaseModel):
    """The payload of a ``build-report`` invocation."""

    report: str = "weekly"
    fail_times: int = 2


_attempts: dict[str, int] = {}


@client.define_job(
    id="build-report",
    name="Build a report (its upload fails twice, then retries succeed)",
    trigger=invoke_trigger(schema=ReportRequest),
)
async def build_report(payload: ReportRequest, io: IO, ctx: Context) -> dict[str, Any]:
    """Gathers rows, then uploads with a retry policy; the upload fails `fail_times` times."""
    rows = await io.run_task("gather-rows", lambda: list(range(10)))

    def upload() -> str:
        count = _attempts[ctx.run.id] = _attempts.get(ctx.run.id, 0) + 1
        if count <= payload.fail_times:
            raise ConnectionError(f"storage unavailable (attempt {count})")
        return f"s3://reports/{payload.report}.csv"

    location = await io.run_task(
        "upload",
        upload,
        retry=RetryPolicy(limit=5, min_timeout=1.0, factor=2.0, randomize=False),
    )
    io.logger.info("report uploaded", rows=len(rows), location=location)
    return {"rows": len(rows), "location": location}


@client.define_job(id="nightly-cleanup", name="Nightly cleanup", trigger=cron_trigger("0 3 * * *"))
async def nightly_cleanup(payload: dict[str, Any], io: IO, ctx: Context) -> int:
    """Runs at 03:00 UTC; the payload carries the slot (``ts``) and the previous one."""
    removed = await io.run_task("remove-expired-sessions", lambda: 0)
    io.logger.info("cleanup done", slot=payload["ts"], removed=removed)
    return int(removed)


@client.define_job(
    id="ship-order",
    name="Ship an order once it is paid (waits for an event)",
    trigger=invoke_trigger(),
)
async def ship_order(payload: dict[str, Any], io: IO, ctx: Context) -> dict[str, Any]:
    """Waits (no compute) for ``order.paid`` with this order's id, for at most a day.

    ``triggerfish send-event order.paid '{"order_id": "o-1", "amount": 42}'`` resumes it.
    """
    order_id = payload.get("order_id", "o-1")
    try:
        paid = await io.wait_for_event(
            "paid", "order.paid", filter={"order_id": [order_id]}, timeout=timedelta(days=1)
        )
    except WaitTimeout:
        return {"order_id": order_id, "shipped": False}
    label = await io.run_task("print-label", lambda: f"label for {order_id}")
    # v2: `const paid = await io.waitForEvent(...)`; here too the event comes back (id, name,
    # payload, timestamp, context), its payload parsed by `schema=` when given.
    amount = paid.payload.get("amount")
    return {"order_id": order_id, "shipped": True, "amount": amount, "label": label,
            "event_id": paid.id}


@client.define_job(
    id="approve-refund",
    name="Approve a refund (waits for a POST to a callback URL)",
    trigger=invoke_trigger(),
)
async def approve_refund(payload: dict[str, Any], io: IO, ctx: Context) -> dict[str, Any]:
    """Logs a one-time callback URL; ``curl -X POST -d '{"approved": true}' URL`` answers it."""

    def hand_out(url: str) -> str:
        io.logger.info("approve or refuse with a POST", url=url)
        return "logged"

    try:
        answer = await io.wait_for_request("approval", hand_out, timeout=3600)
    except WaitTimeout:
        return {"approved": False, "reason": "no answer within an hour"}
    return {"approved": bool(answer.get("approved")) if isinstance(answer, dict) else False}


@client.define_job(
    id="send-reminder",
    name="Send a reminder (started by a delayed event)",
    trigger=event_trigger("reminder.due"),
)
async def send_reminder(payload: dict[str, Any], io: IO, ctx: Context) -> str:
    """Started when a delayed ``reminder.due`` event is delivered, e.g. sent with
    ``client.send_event("reminder.due", {"user": "ada"}, deliver_after=60)`` or
    ``POST /api/events {"name": "reminder.due", "deliver_after": 60}``."""
    sent: str = await io.run_task("send", lambda: f"reminded {payload.get('user')}")
    return sent


from examples.coordination import define_coordination_jobs
from examples.v2_idioms import define_v2_jobs

define_coordination_jobs(client)
define_v2_jobs(client)
