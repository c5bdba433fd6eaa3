"""`BodyLimit`: refuses request bodies over ``max_body_bytes`` with 413.

A declared ``Content-Length`` over the limit is refused before the route runs; a chunked
body (or a lying length) is counted while the route reads it, and reading past the limit
raises `BodyTooLarge`. Routes read the whole body before they touch the store, so a
refused body leaves nothing half-written.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import BodyTooLarge, error_response

DEFAULT_MAX_BODY_BYTES = 256 * 1024


class BodyLimit:
    """ASGI middleware enforcing the body limit on every HTTP request."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            error = BodyTooLarge(self.max_body_bytes)
            response = error_response(413, error.code, error.message, **error.details)
            await response(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        await self.app(scope, counting_receive, send)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
