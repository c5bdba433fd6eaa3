"""Three example jobs: an event job with a schema, an invoke job that retries, a cron job.

Serve them with ``make dev`` (``triggerfish dev examples.jobs:client``), then, with the
API key it prints:

    triggerfish send-event user.signed_up '{"email": "ada@example.com", "name": "Ada"}'
    curl -X POST -H "Authorization: Bearer $KEY" -d '{"payload": {"report": "weekly"}}' \\
        http://127.0.0.1:8000/api/jobs/build-report/invoke
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from triggerfish.core import (
    IO,
    Client,
    Context,
    RetryPolicy,
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


from examples.coordination import define_coordination_jobs

define_coordination_jobs(client)
