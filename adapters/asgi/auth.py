"""Bearer-key authentication of the JSON API (DESIGN.md, Adapters)."""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import error_response


def is_valid_key(given: str | None, api_key: str) -> bool:
    """True when `given` equals the API key, compared in constant time."""
    if not given:
        return False
    return hmac.compare_digest(given.encode(), api_key.encode())


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


class BearerAuth:
    """ASGI middleware: answers 401 (and calls nothing) unless the request carries the key.

    It runs before the route reads the body, so a refused request changes nothing. With a
    `prefix` it guards every path under it and lets others pass; it sits outside the
    router, so a path no route matches (``/api/x%0A``) is a 401 before it is a 404.
    """

    def __init__(
        self, app: ASGIApp, *, api_key: str, prefix: str | None = None,
        exempt: tuple[str, ...] = (),
    ) -> None:  # fmt: skip
        self.app = app
        self.api_key = api_key
        self.prefix = prefix
        self.exempt = exempt
        """Path prefixes under `prefix` that need no key (callback URLs carry their secret)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._guards(scope):
            await self.app(scope, receive, send)
            return
        header = _header(scope, b"authorization")
        if is_valid_key(bearer_token(header), self.api_key):
            await self.app(scope, receive, send)
            return
        if header is None:
            message = "missing Authorization header; send 'Authorization: Bearer <api key>'"
        elif bearer_token(header) is None:
            message = "the Authorization header must be 'Bearer <api key>'"
        else:
            message = "the API key in the Authorization header is not valid"
        response = error_response(
            401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"}
        )
        await response(scope, receive, send)


    def _guards(self, scope: Scope) -> bool:
        if self.prefix is None:
            return True
        path = route_path(scope)
        if self.exempt and path.startswith(self.exempt):
            return False
        return path == self.prefix or path.startswith(self.prefix + "/")


def route_path(scope: Scope) -> str:
    """The path the router matches: ``path`` without a parent app's ``root_path``."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        return path[len(root):]
    return path


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None
