"""Example jobs for coordination: a child run, parallel items, random/now, a status, hooks.

Loaded by examples/jobs.py (``make dev``). With the API key ``make dev`` prints:

    curl -X POST -H "Authorization: Bearer $KEY" -d '{"payload": {"urls": ["a", "b", "c"]}}' \\
        http://127.0.0.1:8000/api/jobs/crawl-site/invoke
    triggerfish run RUN_ID        # statuses, the child run's id on the "thumbnails" task
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from triggerfish.core import IO, Client, Context, Run, invoke_trigger

logger = logging.getLogger(__name__)


def define_coordination_jobs(client: Client) -> None:
    """Adds the coordination examples to `client`."""

    @client.define_job(id="make-thumbnails", name="Make thumbnails", trigger=invoke_trigger())
    async def make_thumbnails(payload: dict[str, Any], io: IO, ctx: Context) -> dict[str, Any]:
        """A child run: one task per page, at most two at a time (io.parallel)."""

        async def thumbnail(page: str) -> str:
            await asyncio.sleep(0.2)
            return f"{page}.png"

        images = await io.parallel("thumbnail", payload["pages"], thumbnail, max_concurrency=2)
        return {"images": images}

    def announce(run: Run) -> None:
        logger.info("crawl %s finished: %s", run.id, run.output)

    def alert(run: Run) -> None:
        logger.warning("crawl %s ended %s: %s", run.id, run.status.value, run.error)

    @client.define_job(id="crawl-site", name="Crawl a site", trigger=invoke_trigger(),
                       on_success=announce, on_failure=alert)  # fmt: skip
    async def crawl_site(payload: dict[str, Any], io: IO, ctx: Context) -> dict[str, Any]:
        """Statuses while it works, a recorded sample and time, a child run it waits for."""
        urls: list[str] = payload.get("urls") or ["home", "about"]
        status = await io.create_status("progress", label="Fetching pages", state="loading",
                                        data={"done": 0, "total": len(urls)})  # fmt: skip
        started = await io.now("started")
        sample = await io.random("sample", min=0, max=len(urls) - 1, round=True)
        pages = await io.parallel("fetch", urls, lambda url: f"<html>{url}</html>")
        await status.update("fetched", label="Making thumbnails",
                            data={"done": len(pages), "total": len(urls)})  # fmt: skip
        thumbs = await io.invoke_and_wait("thumbnails", "make-thumbnails", {"pages": urls})
        await status.update("done", label="Crawled", state="success")
        return {"started": started.isoformat(), "sample": urls[int(sample)], **thumbs}
