"""The HTTP request behind `io.background_fetch` (stdlib only, run in a worker thread)."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from typing import Any

FETCH_TIMEOUT_SECONDS = 30.0


class FetchError(Exception):
    """A fetch answered with a 5xx or 429 status; retryable under the task's RetryPolicy."""


def _fetch(url: str, method: str, headers: dict[str, str], body: bytes | None) -> dict[str, Any]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as response:
            status, answer_headers, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        status, answer_headers, raw = exc.code, dict(exc.headers), exc.read()
    if status >= 500 or status == 429:
        raise FetchError(f"{method} {url} answered {status}")
    return {"status": status, "headers": answer_headers, "body": raw.decode("utf-8", "replace")}


async def fetch(
    url: str, *, method: str, headers: dict[str, str], body: str | bytes | None
) -> dict[str, Any]:
    """Status, headers and text body of one request; 5xx and 429 raise FetchError."""
    data = body.encode() if isinstance(body, str) else body
    return await asyncio.to_thread(_fetch, url, method.upper(), headers, data)
