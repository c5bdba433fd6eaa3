"""`io.invoke(..., callback_url=...)`: a finished run is POSTed to its callback URL.

    POST {callback_url}   Content-Type: application/json
    {"id": "run_...", "status": "COMPLETED", "output": <the run's output>}
    {"id": "run_...", "status": "FAILED" | "TIMED_OUT" | "CANCELED" | ..., "error": {"type", "message", ...}}

Delivered like the end hooks (core/ends.py), at least once and normally once: the end write
sets `hooks_due_at`, so a crash between the end write and the POST leaves the run due and
the sweeper's next look delivers it. A POST that fails (a network error, or an answer
that is not 2xx) is tried again each time the sweeper finds the run due (every
HOOK_LEASE_SECONDS), for CALLBACK_GIVE_UP_SECONDS after the run ended; the job's own
on_success / on_failure hook is called once the POST was answered or given up. urllib
(stdlib) in a thread: nothing is imported for runs without a callback URL.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from .serialize import load_json

if TYPE_CHECKING:
    from .store.base import RunRecord

logger = logging.getLogger(__name__)

CALLBACK_TIMEOUT_SECONDS = 10.0
CALLBACK_GIVE_UP_SECONDS = 24 * 3600.0
"""A callback still not answered with a 2xx this long after the run ended is dropped."""
CALLBACK_SCHEMES = ("http://", "https://")


def callback_body(run: RunRecord) -> dict[str, Any]:
    """What is POSTed: the run's id, status, and its output (COMPLETED) or error."""
    if run.output_json is not None and run.error is None:
        return {"id": run.id, "status": run.status.value, "output": load_json(run.output_json)}
    return {"id": run.id, "status": run.status.value, "error": run.error}


async def post_callback(run: RunRecord, now: float) -> bool:
    """POSTs the finished run to its callback URL; True when delivered or given up."""
    url = run.callback_url
    if url is None:
        return True
    try:
        status = await asyncio.to_thread(_post, url, json.dumps(callback_body(run)).encode())
    except Exception as exc:  # noqa: BLE001 - any failure of the POST is retried later
        status, reason = None, f"{type(exc).__name__}: {exc}"
    else:
        reason = f"answered {status}"
    if status is not None and 200 <= status < 300:
        return True
    ended = run.completed_at or now
    if now - ended >= CALLBACK_GIVE_UP_SECONDS:
        logger.error("run %s: callback to %s given up after %.0f s: %s", run.id, url,
                     now - ended, reason)  # fmt: skip
        return True
    logger.warning("run %s: callback to %s failed (%s); tried again later", run.id, url, reason)
    return False


def _post(url: str, body: bytes) -> int:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=CALLBACK_TIMEOUT_SECONDS) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
