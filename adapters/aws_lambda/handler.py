"""`create_handler`: one Lambda handler for HTTP, SQS, schedule and direct events."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

from triggerfish.core import Client

from .context import LambdaContext, deadline_of
from .events import EventKind, kind_of
from .logs import install_json_logging, invocation_fields, lambda_fields
from .sqs import handle_records

logger = logging.getLogger(__name__)


class UnknownEventError(ValueError):
    """An event with records from a source other than SQS (raised so the source retries)."""


class TickerDispatcher:
    """Stands in when the client has no dispatcher (no queue): runs wait for the ticker.

    Each run's next time is in the store (its due time), so the ticker finds it and runs
    it inline; nothing starts a background loop that a frozen Lambda container would stall.
    """

    async def dispatch(self, run_id: str, at: float) -> None:
        logger.debug("run %s due at %.3f; the ticker will resume it", run_id, at)


class Handler:
    """Routes each event by its shape; keeps one event loop per container.

    Mangum runs the ASGI app on ``asyncio.get_event_loop()``; sharing that loop keeps
    later HTTP events working (an ``asyncio.run`` per invocation would close it).
    """

    def __init__(
        self, client: Client, *, api_key: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        if client.dispatcher is None:
            logger.warning("no dispatcher (TRIGGERFISH_QUEUE_URL unset): runs advance on ticks")
            client.dispatcher = TickerDispatcher()
        self.client = client
        self.api_key = api_key
        self.environ = os.environ if environ is None else environ
        self._cold_start = True
        self._loop: asyncio.AbstractEventLoop | None = None
        self._http: Callable[[dict[str, Any], Any], dict[str, Any]] | None = None

    def __call__(self, event: Any, context: LambdaContext | None = None) -> Any:
        # Read per invocation: the runtime sets the trace header anew for each one.
        invocation_fields.set(lambda_fields(context, self.environ, cold_start=self._cold_start))
        self._cold_start = self._cold_start and context is None
        kind = kind_of(event)
        if kind is EventKind.HTTP:
            return self._answer_http(event, context)
        if kind is EventKind.UNKNOWN:
            keys = sorted(map(str, event))[:8] if isinstance(event, dict) else type(event).__name__
            logger.warning("event of no known shape: %s", keys)
            records = event.get("Records") if isinstance(event, dict) else None
            if isinstance(records, list) and records and all(isinstance(r, dict) for r in records):
                # A stream or queue other than SQS: failing makes its source retry, not drop.
                raise UnknownEventError(
                    "triggerfish answers SQS records only; got records from "
                    f"{sorted({str(r.get('eventSource')) for r in records})}"
                )
            from .direct import error  # direct events' module (pydantic models): off the SQS path

            return error(
                "unknown_event",
                "triggerfish answers API Gateway, ALB, function URL, SQS, EventBridge "
                f"scheduled and direct ({{'action': ...}}) events; got keys {keys}",
            )
        loop = self._event_loop()
        deadline = deadline_of(context, self.client.clock.time())
        if kind is EventKind.SQS:
            return loop.run_until_complete(handle_records(self.client, event["Records"], deadline))
        if kind is EventKind.SCHEDULE:
            return loop.run_until_complete(self._tick(deadline))
        from .direct import handle_direct  # its models load on the first direct event

        return loop.run_until_complete(handle_direct(self.client, event, deadline))

    async def _tick(self, deadline: float | None) -> dict[str, list[str]]:
        """The sweeper and schedules; without a queue, due runs are executed right here."""
        due = await self.client.tick()
        if isinstance(self.client.dispatcher, TickerDispatcher):
            for run_id in due:
                await self.client.execute(run_id, deadline=deadline)
        return {"dispatched": due}

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None or self._loop.is_closed():
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
        return self._loop

    def _answer_http(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """The HTTP answer; an event Mangum cannot read (bad base64, ``headers: null``,
        no ``version``) is a 400 in the same JSON error shape, never a raised error.

        Mangum reads the whole event before the app runs, and answers the app's own
        failures itself, so what it raises here is the event's shape: nothing was stored.
        """
        problem = _http_shape_problem(event)
        try:
            if problem is None:
                return self._http_handler()(event, context)
        except Exception as exc:
            logger.warning("malformed HTTP event: %s", type(exc).__name__, exc_info=True)
            problem = type(exc).__name__
        from .direct import error

        body = error(
            "bad_request",
            f"the HTTP event is malformed and cannot be read ({problem}); "
            "send an API Gateway (v1 or v2), ALB or function URL event",
        )
        return {
            "statusCode": 400,
            "headers": {"content-type": "application/json"},
            "body": json.dumps(body),
            "isBase64Encoded": False,
        }

    def _http_handler(self) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
        if self._http is None:
            self._event_loop()
            from mangum import Mangum

            from ..asgi import create_app

            app = create_app(self.client, api_key=self.api_key)
            self._http = Mangum(app, lifespan="off")
        return self._http


def _http_shape_problem(event: dict[str, Any]) -> str | None:
    """What Mangum would pass on unchecked into the ASGI scope: method, path, body types."""
    context = event.get("requestContext")
    http = context.get("http") if isinstance(context, dict) else None
    method = http.get("method") if isinstance(http, dict) else event.get("httpMethod")
    if not isinstance(method, str) or not method:
        return "the method is not a string"
    path = event.get("rawPath", event.get("path"))
    if path is not None and not isinstance(path, str):
        return "the path is not a string"
    if not isinstance(event.get("body"), str | None):
        return "the body is not a string"
    for name in ("headers", "multiValueHeaders", "queryStringParameters",
                 "multiValueQueryStringParameters"):
        if not isinstance(event.get(name), dict | None):
            return f"{name} is not an object"
    return None


def create_handler(
    client: Client, *, api_key: str | None = None, environ: Mapping[str, str] | None = None
) -> Handler:
    """The Lambda handler for `client`: ``handler = create_handler(client)``.

    The deadline of every invocation is ``context.get_remaining_time_in_millis()``. On
    Lambda (``AWS_LAMBDA_FUNCTION_NAME`` set) with logging not configured by the user, the
    ``triggerfish`` logger writes JSON lines with AWS Lambda Powertools' keys (`logs`);
    ``TRIGGERFISH_LOG_FORMAT=text`` keeps plain logging. `environ` (default ``os.environ``,
    read at each invocation for the X-Ray trace id) is the adapter's one read of the
    environment.
    """
    environ = os.environ if environ is None else environ
    install_json_logging(environ, service=client.id)
    return Handler(client, api_key=api_key, environ=environ)
