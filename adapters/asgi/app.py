"""`create_app`: the Starlette app of the JSON API, the webhooks and the dashboard."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route
from triggerfish.core import Client, ConfigError

from .api import api_routes
from .auth import BearerAuth
from .callbacks import CALLBACK_PREFIX, RememberBaseUrl
from .errors import EXCEPTION_HANDLERS
from .events import (
    DEFAULT_EVENTS_INTERVAL_SECONDS,
    MAX_EVENTS_INTERVAL_SECONDS,
    MIN_EVENTS_INTERVAL_SECONDS,
)
from .limits import DEFAULT_MAX_BODY_BYTES, BodyLimit
from .openapi import openapi_json
from .runtime import LazyStart, Runtime
from .webhooks import webhook_routes


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def create_app(
    client: Client,
    *,
    api_key: str | None = None,
    dashboard: bool = True,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    events_interval_seconds: float = DEFAULT_EVENTS_INTERVAL_SECONDS,
) -> Starlette:
    """The ASGI app serving `client`: ``/api``, ``/webhooks``, ``/health``, the dashboard.

    `api_key` (else ``client.api_key``) is the bearer key of ``/api`` and the dashboard's
    password; raises ConfigError when neither is set. The app's lifespan gives a client
    without a dispatcher a `LocalDispatcher` (recovering unfinished runs, sweeping every
    second) and stops it on shutdown; when the app is mounted in a parent that does not
    forward lifespans, the dispatcher starts on the first request instead.
    `events_interval_seconds` is how often ``/api/runs/{id}/events`` reads the store.
    ``app = create_app(client)``, then ``uvicorn module:app``.
    """
    key = api_key if api_key is not None else client.api_key
    if not key:
        raise ConfigError(
            "create_app needs an api_key: pass api_key=... or set client.api_key "
            "(TRIGGERFISH_API_KEY for Client.from_env)"
        )
    if max_body_bytes < 1:
        raise ConfigError(f"max_body_bytes must be at least 1, got {max_body_bytes}")
    if not MIN_EVENTS_INTERVAL_SECONDS <= events_interval_seconds <= MAX_EVENTS_INTERVAL_SECONDS:
        raise ConfigError(
            f"events_interval_seconds must be from {MIN_EVENTS_INTERVAL_SECONDS} to "
            f"{MAX_EVENTS_INTERVAL_SECONDS} seconds, got {events_interval_seconds}"
        )
    runtime = Runtime(client)
    routes: list[BaseRoute] = [
        Route("/health", health, methods=["GET"], name="health"),
        Route("/openapi.json", openapi_json, methods=["GET"], name="openapi"),
        Mount("/api", routes=api_routes(), name="api"),
        *webhook_routes(),
    ]
    if dashboard:
        routes.extend(_dashboard_routes(client, api_key=key))
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(BodyLimit, max_body_bytes=max_body_bytes),
            Middleware(LazyStart, runtime=runtime),
            Middleware(BearerAuth, api_key=key, prefix="/api", exempt=(CALLBACK_PREFIX,)),
            Middleware(RememberBaseUrl, client=client),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=runtime.lifespan,
    )
    app.state.triggerfish_client = client
    app.state.triggerfish_runtime = runtime
    app.state.triggerfish_events_interval = events_interval_seconds
    return app


def _dashboard_routes(client: Client, *, api_key: str) -> list[BaseRoute]:
    """The dashboard's pages (issue 5), imported only when the dashboard is on."""
    from .dashboard import dashboard_routes

    return list(dashboard_routes(client, api_key=api_key))
