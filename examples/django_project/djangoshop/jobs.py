"""The project's triggerfish client and jobs (one module, imported by views and asgi.py)."""

from __future__ import annotations

from typing import Any

from triggerfish.core import IO, Client, Context, event_trigger

client = Client.from_env("django-shop")
"""TRIGGERFISH_DB (SQLite) here; TRIGGERFISH_TABLE and friends on AWS."""


@client.define_job(id="receipt", trigger=event_trigger("order.placed"))
async def receipt(payload: dict[str, Any], io: IO, ctx: Context) -> dict[str, Any]:
    total = await io.run_task("total", lambda: sum(item["price"] for item in payload["items"]))
    io.logger.info("receipt sent", order=payload["order"], total=total)
    return {"order": payload["order"], "total": total}
