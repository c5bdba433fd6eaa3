"""`io.background_fetch`: an HTTP request done outside the run's invocation.

    run:     records the fetch task WAITING, hands the dispatcher a FetchMessage, suspends
    worker:  (SQS worker / local asyncio task) performs the request, records the task
             COMPLETED, ERRORED, or WAITING for its retry, then wakes the run
    run:     replays; the recorded response is the task's output

A message that is lost is sent again when the run wakes at its recheck time; a stale or
duplicate message (an attempt already recorded) changes nothing.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .errors import OutputError
from .fetch_retry import FetchRetry, is_failed_status, policy_for
from .retry import RetryPolicy
from .runtime import runtime_of
from .serialize import describe_error, dump_json, nests_deeper
from .store.calls import call_store
from .types import TaskStatus
from .wakes import wake  # core/wakes.py (every invocation's end needs it, not this module)

if TYPE_CHECKING:
    from .runtime import HasRuntime, Runtime

logger = logging.getLogger(__name__)

FETCH_TIMEOUT_SECONDS = 30.0
FETCH_RECHECK_SECONDS = 120.0
"""A run waiting on a fetch wakes after this long anyway, and re-sends a lost request."""
MAX_RESPONSE_DEPTH = 256
"""A JSON response nested deeper is kept as text only (``json`` is None), never parsed."""




class FetchError(Exception):
    """A fetch answered with a status that fails the attempt (5xx, 429, or one a retry
    pattern names); retried under the policy for its `status` (core/fetch_retry.py)."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class FetchMessage(BaseModel):
    """One background fetch for a worker: which task and attempt, and the request."""

    model_config = ConfigDict(defer_build=True)  # built by the first fetch, not at import

    type: Literal["fetch"] = "fetch"
    run_id: str
    task_id: str
    key: str
    attempt: int = Field(ge=1)
    url: str
    method: str = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    body_base64: bool = False
    """True when `body` is the base64 of bytes to send as given (a bytes body)."""
    retry: RetryPolicy | dict[str, RetryPolicy] | None = None
    """One policy, or policies by status pattern (checked by `checked_fetch_retry`)."""

    @classmethod
    def encode_body(cls, body: str | bytes | None) -> dict[str, Any]:
        """The `body` and `body_base64` fields for a str (sent as UTF-8) or bytes body."""
        if isinstance(body, bytes | bytearray | memoryview):
            return {"body": base64.b64encode(bytes(body)).decode(), "body_base64": True}
        if body is not None and not isinstance(body, str):
            raise TypeError(f"background_fetch body must be str or bytes, got {type(body).__name__}")
        return {"body": body, "body_base64": False}

    def body_bytes(self) -> bytes | None:
        """The bytes to send."""
        if self.body is None:
            return None
        return base64.b64decode(self.body) if self.body_base64 else self.body.encode()


FETCH_SCHEMES = ("http://", "https://")
"""The only URLs fetched: urllib would also open file:// and data: URLs (a local file read)."""


def _fetch(
    url: str, method: str, headers: dict[str, str], body: bytes | None, retry: FetchRetry | None
) -> dict[str, Any]:
    import urllib.error
    import urllib.request

    if not url.lower().startswith(FETCH_SCHEMES):
        raise ValueError(f"background_fetch url must start with http:// or https://, got {url!r}")
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as response:
            status, answer_headers, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        status, answer_headers, raw = exc.code, dict(exc.headers), exc.read()
    if is_failed_status(retry, status):
        raise FetchError(f"{method} {url} answered {status}", status=status)
    return {"status": status, "headers": answer_headers, **response_body(answer_headers, raw)}


BINARY_TYPES = ("image/", "audio/", "video/", "font/", "application/octet-stream",
                "application/pdf", "application/zip", "application/gzip")  # fmt: skip


def response_body(headers: dict[str, str], raw: bytes) -> dict[str, Any]:
    """``body`` (text, or None when the body is binary), ``body_base64`` (the bytes, only
    when binary) and ``json`` (parsed, for a JSON content type that parses; else None).
    """
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    kind = content_type.split(";", 1)[0].strip().lower()
    _, _, after = content_type.partition("charset=")
    charset = after.split(";")[0].strip().strip('"') or "utf-8"
    text: str | None = None
    if not kind.startswith(BINARY_TYPES):
        try:
            text = raw.decode(charset)
        except (LookupError, UnicodeDecodeError):
            text = None
    parsed: Any = None
    is_json = kind == "application/json" or kind.endswith("+json")
    if text is not None and is_json and not nests_deeper(text, MAX_RESPONSE_DEPTH):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
    return {
        "body": text,
        "body_base64": None if text is not None else base64.b64encode(raw).decode(),
        "json": parsed,
    }


async def fetch(
    url: str,
    *,
    method: str,
    headers: dict[str, str],
    body: str | bytes | None,
    body_base64: bool = False,
    retry: FetchRetry | None = None,
) -> dict[str, Any]:
    """Status, headers and body of one request (see `response_body`); 5xx and 429 (and
    statuses a `retry` pattern names) raise FetchError. A str `body` is sent as UTF-8, or
    decoded from base64 with `body_base64`.
    """
    if isinstance(body, str):
        data: bytes | None = base64.b64decode(body) if body_base64 else body.encode()
    else:
        data = body
    return await asyncio.to_thread(_fetch, url, method.upper(), headers, data, retry)


async def perform_fetch(owner: Runtime | HasRuntime, message: FetchMessage) -> None:
    """The worker's side: do the request, record the task's attempt, wake the run.

    `owner` is the client's runtime, or the client itself.
    """
    runtime = runtime_of(owner)
    store, clock = runtime.store, runtime.clock
    current = await call_store(store, store.get_task, message.run_id, message.task_id)
    is_stale = (
        current is None
        or current.status.is_final
        or not current.in_flight
        or current.attempts != message.attempt
    )
    if current is None or is_stale:
        logger.info("fetch %s of run %s is stale; skipped", message.key, message.run_id)
        return
    run = await call_store(store, store.get_run, message.run_id)
    if run is None or run.status.is_final:
        logger.info("run %s has ended; its fetch %s is not sent", message.run_id, message.key)
        return
    try:
        response = await fetch(
            message.url, method=message.method, headers=message.headers, body=message.body,
            body_base64=message.body_base64, retry=message.retry,
        )  # fmt: skip
        output_json = dump_json(response, key=message.key)
    except Exception as exc:  # noqa: BLE001 - the request's failure is the task's
        error = describe_error(exc)
        now = clock.time()
        tries = message.attempt - current.attempt_base  # counted from the last retry_run
        policy = policy_for(message.retry, exc.status if isinstance(exc, FetchError) else None)
        if policy is not None and policy.has_attempts_left(tries):
            retry_at = now + policy.delay_seconds(tries)
            record = replace(current, status=TaskStatus.WAITING, error=error,
                             resume_at=retry_at, in_flight=False)  # fmt: skip
        else:
            record = replace(current, status=TaskStatus.ERRORED, error=error,
                             completed_at=now, resume_at=None, in_flight=False)  # fmt: skip
    else:
        record = replace(current, status=TaskStatus.COMPLETED, output_json=output_json, error=None,
                         completed_at=clock.time(), resume_at=None, in_flight=False)  # fmt: skip
    try:
        is_recorded = await call_store(store, store.put_task, record)
    except OutputError as exc:  # a response too large for the store fails the task
        record = replace(record, status=TaskStatus.ERRORED, output_json=None,
                         error=describe_error(exc), completed_at=clock.time(), resume_at=None)  # fmt: skip
        is_recorded = await call_store(store, store.put_task, record)
    if not is_recorded:
        logger.info("fetch %s of run %s was already recorded", message.key, message.run_id)
        return
    await wake(runtime, message.run_id, record.resume_at or clock.time())


