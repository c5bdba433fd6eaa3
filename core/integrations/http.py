"""`HttpIntegration`: an HTTP API client whose requests are tasks (httpx, imported when used).

    api = HttpIntegration("https://api.example.com", headers={"Accept": "application/json"})
    @client.define_job(..., integrations={"api": api})
    ...  user = await io.integrations["api"].get("user", "/users/1")

Credentials come from the client's auth resolver of the same name, or from the stored
connection `connection=` names (`client.set_connection`): a string is sent as
``Authorization: Bearer <token>`` (header and scheme configurable), a mapping as headers.
"""

from __future__ import annotations

import base64
import json as jsonlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..serialize import shorten
from .base import Integration, integration_task

if TYPE_CHECKING:
    from ..retry import RetryPolicy

JSON_TYPES = ("application/json", "+json")
TEXT_TYPES = ("text/", "application/xml", "application/javascript", "+xml")
MAX_ERROR_BODY_CHARS = 1000


class HttpError(Exception):
    """A 4xx or 5xx answer: the task fails (and is retried under its RetryPolicy)."""

    def __init__(self, method: str, url: str, status: int, body: str) -> None:
        super().__init__(f"{method} {url} answered {status}: {shorten(body, MAX_ERROR_BODY_CHARS)}")
        self.status = status


class HttpIntegration(Integration):
    """An HTTP API at `base_url`; `get/post/put/patch/delete(key, path, ...)` are tasks.

    Each returns the answer's body: parsed JSON for a JSON content type, text for a text
    type, else ``{"content_type", "body_base64"}``. A 4xx/5xx answer raises `HttpError`.
    `retry` (a RetryPolicy) applies to every request task of this integration.
    """

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        auth_header: str = "Authorization",
        auth_scheme: str = "Bearer",
        retry: RetryPolicy | None = None,
        connection: str | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"HttpIntegration base_url must be http(s)://..., got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.auth_header = auth_header
        self.auth_scheme = auth_scheme
        self.task_options: dict[str, Any] = {} if retry is None else {"retry": retry}
        self.connection = connection

    def auth_headers(self) -> dict[str, str]:
        """The headers the credentials add: a token as `auth_header`, a mapping as is."""
        credentials = self.credentials
        if credentials is None:
            return {}
        if isinstance(credentials, Mapping):
            return {str(k): str(v) for k, v in credentials.items()}
        token = str(credentials)
        return {self.auth_header: f"{self.auth_scheme} {token}" if self.auth_scheme else token}

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
    ) -> Any:
        """One request (not a task by itself: call it through the handle's methods)."""
        import httpx

        url = f"{self.base_url}/{path.lstrip('/')}" if path else self.base_url
        sent = {**self.headers, **self.auth_headers(), **(headers or {})}
        async with httpx.AsyncClient(timeout=self.timeout) as http:
            answer = await http.request(
                method, url, params=params, headers=sent, json=json, content=content
            )
        if answer.status_code >= 400:
            raise HttpError(method, url, answer.status_code, answer.text)
        return decode_body(answer.headers.get("content-type", ""), answer.content)

    @integration_task
    async def get(self, path: str, **options: Any) -> Any:
        """GET `path` (options: params, headers)."""
        return await self.request("GET", path, **options)

    @integration_task
    async def post(self, path: str, **options: Any) -> Any:
        """POST `path` (options: json, content, params, headers)."""
        return await self.request("POST", path, **options)

    @integration_task
    async def put(self, path: str, **options: Any) -> Any:
        """PUT `path` (options: json, content, params, headers)."""
        return await self.request("PUT", path, **options)

    @integration_task
    async def patch(self, path: str, **options: Any) -> Any:
        """PATCH `path` (options: json, content, params, headers)."""
        return await self.request("PATCH", path, **options)

    @integration_task
    async def delete(self, path: str, **options: Any) -> Any:
        """DELETE `path` (options: params, headers)."""
        return await self.request("DELETE", path, **options)


def decode_body(content_type: str, body: bytes) -> Any:
    """JSON parsed, text decoded, anything else as ``{"content_type", "body_base64"}``."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind.endswith(JSON_TYPES) or kind == "application/json":
        return jsonlib.loads(body) if body.strip() else None
    _, has_charset, after = content_type.partition("charset=")
    if kind.startswith(TEXT_TYPES) or kind.endswith(TEXT_TYPES[1:]) or has_charset:
        charset = after.split(";")[0].strip().strip('"') or "utf-8"
        try:
            return body.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    return {"content_type": content_type or None, "body_base64": base64.b64encode(body).decode()}
