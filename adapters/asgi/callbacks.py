"""``POST /api/callbacks/{token}``: the callback URLs of `io.wait_for_request`.

No API key: the token is the secret (`BearerAuth` lets this path through). The body is
read as every route reads it (size limit, JSON, depth); the first POST answers 200 and
resumes the run, later ones 409, an unknown token 404. ``{token}/fail`` (a JSON
``{"type", "message"}``) ends the wait with `CallbackFailed`; ``{token}/heartbeat`` (body
ignored) keeps a `heartbeat_timeout` wait alive; both follow the same token rules.

`RememberBaseUrl` keeps the base URL of the first request the app serves, for clients
without `base_url` (the client's own `base_url` always wins). Mounted under a prefix, that
base includes the prefix (issue 21): Starlette's `Request.base_url` is the top-level app's
root, so the mount's own ``root_path`` is read instead.
"""

from __future__ import annotations

from starlette.datastructures import URL
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send
from triggerfish.core import Client
from triggerfish.core.callbacks import (
    CallbackAnswer,
    answer_callback,
    fail_callback,
    heartbeat_callback,
)
from triggerfish.core.serialize import MAX_ERROR_MESSAGE_CHARS, dump_json, safe_text

from .bodies import read_json
from .errors import APIError, error_response

CALLBACK_PREFIX = "/api/callbacks/"
"""Paths under it need no API key."""


async def receive_callback(request: Request) -> JSONResponse:
    client: Client = request.app.state.triggerfish_client
    body = await read_json(request)
    try:
        body_json = dump_json(body, key="callback body")
    except ValueError as exc:
        raise APIError(400, "invalid_json", str(exc)) from exc
    answer = await answer_callback(client.runtime, request.path_params["token"], body_json)
    return _respond(answer)


async def fail_wait(request: Request) -> JSONResponse:
    client: Client = request.app.state.triggerfish_client
    body = await read_json(request)
    if not isinstance(body, dict):
        raise APIError(400, "invalid_body", 'the body must be a JSON object {"type", "message"}')
    error: dict[str, str] = {}
    for field, default in (("type", "CallbackFailed"), ("message", "")):
        value = body.get(field, default)
        if not isinstance(value, str):
            raise APIError(400, "invalid_body", f"{field} must be a string, got {value!r}")
        error[field] = safe_text(value, limit=200 if field == "type" else MAX_ERROR_MESSAGE_CHARS)
    return _respond(await fail_callback(client.runtime, request.path_params["token"], error))


async def heartbeat(request: Request) -> JSONResponse:
    client: Client = request.app.state.triggerfish_client
    return _respond(await heartbeat_callback(client.runtime, request.path_params["token"]))


def _respond(answer: CallbackAnswer) -> JSONResponse:
    """200 for a resumed (or kept alive) wait, 404 for an unknown token, 409 otherwise."""
    if answer in (CallbackAnswer.RESUMED, CallbackAnswer.ALIVE):
        return JSONResponse({"status": answer.value})
    if answer is CallbackAnswer.UNKNOWN:
        return error_response(404, "callback_not_found", "no callback has this token")
    message = ("this callback has timed out" if answer is CallbackAnswer.EXPIRED
               else "this callback was already answered")  # fmt: skip
    return error_response(409, f"callback_{answer.value}", message)


def callback_routes() -> list[BaseRoute]:
    """The callback routes, mounted under ``/api``."""
    return [
        Route("/callbacks/{token}", receive_callback, methods=["POST"], name="callback"),
        Route("/callbacks/{token}/fail", fail_wait, methods=["POST"], name="callback_fail"),
        Route(
            "/callbacks/{token}/heartbeat", heartbeat, methods=["POST"], name="callback_heartbeat"
        ),
    ]


class RememberBaseUrl:
    """ASGI middleware: the first HTTP request's base URL (scheme, host, root path) becomes
    the client's fallback for callback URLs."""

    def __init__(self, app: ASGIApp, *, client: Client) -> None:
        self.app = app
        self.client = client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.client.runtime.served_base_url is None:
            self.client.runtime.served_base_url = mounted_base_url(scope)
        await self.app(scope, receive, send)


def mounted_base_url(scope: Scope) -> str:
    """Scheme, host and ``root_path``: where this app answers, mount prefix included.

    A Starlette `Mount` (or FastAPI's ``app.mount``) appends its prefix to ``root_path`` and
    keeps the top-level root in ``app_root_path``, which `Request.base_url` reads.
    """
    base_scope = {**scope, "path": scope.get("root_path", ""), "query_string": b""}
    return str(URL(scope=base_scope)).rstrip("/")
