"""A jobs module for the runtime-contract test, loaded by deploy/lambda_entry.py."""

from __future__ import annotations

from typing import Any

from triggerfish.core import IO, Client, Context, event_trigger

client = Client.from_env("contract")


@client.define_job(id="shout", trigger=event_trigger("shout"))
async def shout(payload: Any, io: IO, ctx: Context) -> str:
    loud = await io.run_task("upper", lambda: str(payload["text"]).upper())
    io.logger.info("shouted", text=loud)
    return f"{loud}!"
