"""``GET /api/runs/{id}/events``: a run's changes as Server-Sent Events, or by long polling.

The server reads the run from the store every `interval_seconds` and sends only what
changed (`changes.RunChanges`): ``run``, ``task`` and ``log`` events, each with an ``id:``
cursor, then ``end`` once the run is final, and closes the stream. A client that
reconnects with ``Last-Event-ID`` (EventSource does) gets nothing twice.

API Gateway buffers responses and stops them at 29 s, so behind it use the long-poll
form instead: ``?poll=1&since=<cursor>&wait=<seconds>`` answers JSON
``{"events": [...], "cursor", "done"}`` as soon as there is a change, or after `wait`
seconds with no events (docs/api.md, Live run updates).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from .changes import Change, CursorError, RunChanges, parse_cursor
from .errors import invalid_field

if TYPE_CHECKING:
    from triggerfish.core import Client

DEFAULT_EVENTS_INTERVAL_SECONDS = 0.5
"""How often a live stream or a long poll reads the run from the store."""
MIN_EVENTS_INTERVAL_SECONDS = 0.05
MAX_EVENTS_INTERVAL_SECONDS = 10.0
DEFAULT_POLL_WAIT_SECONDS = 20.0
MAX_POLL_WAIT_SECONDS = 25.0
"""Below API Gateway's 29 s integration timeout, with room for one store read."""
KEEPALIVE_SECONDS = 15.0
"""A comment line this often keeps proxies from closing a quiet stream."""
RETRY_MS = 2000
"""The reconnection delay the stream asks EventSource for."""
LAMBDA_MARGIN_SECONDS = 1.0
EVENTS_PARAMETERS = frozenset({"poll", "since", "wait"})


async def run_events(
    request: Request, client: Client, run_id: str, *, interval_seconds: float
) -> Response:
    """The events of run `run_id` for this request: a stream, or one long-poll answer.

    Raises RunNotFound (404) before anything is sent when the run does not exist.
    """
    query = request.query_params
    for name in query:
        if name not in EVENTS_PARAMETERS:
            allowed = ", ".join(sorted(EVENTS_PARAMETERS))
            raise invalid_field(["query", name], f"is not a parameter; use {allowed}")
    changes = RunChanges(cursor=_cursor(request))
    first = changes.diff(await client.get_run(run_id))
    if query.get("poll") not in (None, "", "0", "false"):
        return await _long_poll(request, client, run_id, changes, first, interval_seconds)
    stream = _stream(client, run_id, changes, first, interval_seconds)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)


def _cursor(request: Request) -> tuple[int, int, str] | None:
    since = request.query_params.get("since")
    last_event_id = request.headers.get("last-event-id")
    raw, loc = (since, ["query", "since"]) if since else (last_event_id, ["header", "Last-Event-ID"])
    if not raw:
        return None
    try:
        return parse_cursor(raw)
    except CursorError as exc:
        raise invalid_field(loc, str(exc)) from None


async def _stream(
    client: Client,
    run_id: str,
    changes: RunChanges,
    first: list[Change],
    interval_seconds: float,
) -> AsyncIterator[str]:
    """SSE text: the first changes, then new ones every interval until ``end``."""
    yield f"retry: {RETRY_MS}\n\n"
    batch = first
    quiet_since = time.monotonic()
    while True:
        for change in batch:
            yield change.as_sse()
            if change.event == "end":
                return
        if batch:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= KEEPALIVE_SECONDS:
            quiet_since = time.monotonic()
            yield ": keep-alive\n\n"
        # A client that goes away cancels this generator (StreamingResponse watches for it).
        await asyncio.sleep(interval_seconds)
        batch = changes.diff(await client.get_run(run_id))


async def _long_poll(
    request: Request,
    client: Client,
    run_id: str,
    changes: RunChanges,
    first: list[Change],
    interval_seconds: float,
) -> JSONResponse:
    """Waits up to ``wait`` seconds for at least one change; answers them as JSON."""
    wait = _wait_seconds(request)
    give_up = time.monotonic() + wait
    batch = first
    while not batch and time.monotonic() + interval_seconds <= give_up:
        await asyncio.sleep(interval_seconds)
        if await request.is_disconnected():
            break
        batch = changes.diff(await client.get_run(run_id))
    return JSONResponse(
        {
            "events": [change.as_json() for change in batch],
            "cursor": changes.cursor_text,
            "done": any(change.event == "end" for change in batch),
        },
        headers={"Cache-Control": "no-store"},
    )


def _wait_seconds(request: Request) -> float:
    raw = request.query_params.get("wait")
    if raw is None:
        wait = DEFAULT_POLL_WAIT_SECONDS
    else:
        try:
            wait = float(raw)
        except ValueError:
            wait = -1.0
        if not 0 <= wait <= MAX_POLL_WAIT_SECONDS:
            raise invalid_field(
                ["query", "wait"],
                f"must be a number of seconds from 0 to {MAX_POLL_WAIT_SECONDS:g}, got {raw!r}",
            )
    context = request.scope.get("aws.context")  # on Lambda (Mangum), the function's time binds
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        left = context.get_remaining_time_in_millis() / 1000.0 - LAMBDA_MARGIN_SECONDS
        wait = max(0.0, min(wait, left))
    return wait
