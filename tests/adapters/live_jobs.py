"""The jobs of the live test server (tests/adapters/conftest.py and the `dev` subprocess)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from triggerfish.core import (
    IO,
    Client,
    Context,
    RetryPolicy,
    event_trigger,
    invoke_trigger,
    webhook_trigger,
)

WEBHOOK_SECRET = "s3cret"


class Greeting(BaseModel):
    name: str


def define_jobs(client: Client) -> Client:
    """Defines the test jobs on `client` and returns it."""
    failures: dict[str, int] = {}

    @client.define_job(id="greet", trigger=event_trigger("user.created", schema=Greeting))
    async def greet(payload: Greeting, io: IO, ctx: Context) -> dict[str, Any]:
        text = await io.run_task("compose", lambda: f"hello {payload.name}")

        async def deliver() -> str:
            return str(await io.run_task("send", lambda: "sent"))

        await io.run_task("deliver", deliver)
        await io.wait("pause", seconds=0.3)
        io.logger.info("greeted", name=payload.name)
        return {"text": text}

    @client.define_job(id="sleepy", trigger=event_trigger("sleepy.start"))
    async def sleepy(payload: Any, io: IO, ctx: Context) -> str:
        seconds = float(payload.get("seconds", 60)) if isinstance(payload, dict) else 60.0
        await io.wait("nap", seconds=seconds)
        return str(await io.run_task("after-nap", lambda: "rested"))

    @client.define_job(id="flaky", trigger=invoke_trigger())
    async def flaky(payload: Any, io: IO, ctx: Context) -> str:
        def once_broken() -> str:
            failures[ctx.run.id] = failures.get(ctx.run.id, 0) + 1
            if failures[ctx.run.id] == 1:
                raise ConnectionError("first attempt fails")
            return "ok"

        retry = RetryPolicy(limit=3, min_timeout=0.1, randomize=False)
        return str(await io.run_task("call", once_broken, retry=retry))

    @client.define_job(id="hook", trigger=webhook_trigger("github", secret=WEBHOOK_SECRET))
    async def hook(payload: Any, io: IO, ctx: Context) -> Any:
        return payload

    @client.define_job(id="off", trigger=invoke_trigger(), enabled=False)
    async def off(payload: Any, io: IO, ctx: Context) -> None:
        return None

    return client
