"""The callback side of `io.wait_for_request`: a POST to ``/api/callbacks/{token}``.

The token (``secrets.token_urlsafe(32)``) is never stored: the store keeps its SHA-256 as
the callback item's key. The first POST records the wait's task COMPLETED with the body
(one conditional put_task) and wakes the run; every later POST finds the task final.
``{url}/fail`` records it ERRORED with the sender's type and message (the wait raises
`CallbackFailed`); ``{url}/heartbeat`` moves a `heartbeat_timeout` wait's timeout ahead.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import replace
from enum import Enum
from typing import TYPE_CHECKING

from .types import TaskStatus
from .wakes import wake

if TYPE_CHECKING:
    from .runtime import Runtime
    from .store.base import CallbackRecord, TaskRecord

CALLBACK_PATH = "/api/callbacks/"
"""Where callbacks are answered, under the app's base URL."""
MAX_TOKEN_CHARS = 128
CALLBACK_FAILED = "failed"
"""The `callback` field of a wait's error when the sender POSTed to ``{url}/fail``."""


class CallbackAnswer(str, Enum):
    """What a POST to a callback URL did."""

    RESUMED = "resumed"
    ALIVE = "alive"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


def new_token() -> str:
    """A fresh, unguessable callback token (256 bits)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """The store key of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def callback_url(base_url: str, token: str) -> str:
    """``{base}/api/callbacks/{token}``."""
    return base_url.rstrip("/") + CALLBACK_PATH + token


async def answer_callback(runtime: Runtime, token: str, body_json: str) -> CallbackAnswer:
    """Resumes the waiting run with `body_json` on the first call for `token`."""
    found = await _open_wait(runtime, token)
    if isinstance(found, CallbackAnswer):
        return found
    _, current, now = found
    return await _end_wait(runtime, _answered(current, body_json, now), now)


async def fail_callback(runtime: Runtime, token: str, error: dict[str, str]) -> CallbackAnswer:
    """``POST {url}/fail``: the wait raises `CallbackFailed` with `error` ({type, message})."""
    found = await _open_wait(runtime, token)
    if isinstance(found, CallbackAnswer):
        return found
    _, current, now = found
    failed = replace(current, status=TaskStatus.ERRORED, output_json=None,
                     error={**error, "callback": CALLBACK_FAILED}, completed_at=now,
                     resume_at=None)  # fmt: skip
    return await _end_wait(runtime, failed, now)


async def heartbeat_callback(runtime: Runtime, token: str) -> CallbackAnswer:
    """``POST {url}/heartbeat``: a wait given `heartbeat_timeout` now times out that long
    from now (never past its `timeout`); other waits are left as they are.

    The run is not woken: at its old resume time it finds the later one recorded and
    waits again (one short invocation per missed wake-up, no polling).
    """
    found = await _open_wait(runtime, token)
    if isinstance(found, CallbackAnswer):
        return found
    callback, current, now = found
    if callback.heartbeat_seconds is None:
        return CallbackAnswer.ALIVE
    until = now + callback.heartbeat_seconds
    if callback.expires_at is not None:
        until = min(until, callback.expires_at)
    if current.resume_at is not None and until <= current.resume_at:
        return CallbackAnswer.ALIVE
    if not await runtime.call(runtime.store.put_task, replace(current, resume_at=until)):
        return CallbackAnswer.USED
    return CallbackAnswer.ALIVE


async def _open_wait(
    runtime: Runtime, token: str
) -> CallbackAnswer | tuple[CallbackRecord, TaskRecord, float]:
    """The callback and its wait, still WAITING and not timed out; else the answer to give."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return CallbackAnswer.UNKNOWN
    store = runtime.store
    callback: CallbackRecord | None = await runtime.call(store.get_callback, token_hash(token))
    if callback is None:
        return CallbackAnswer.UNKNOWN
    current: TaskRecord | None = await runtime.call(store.get_task, callback.run_id,
                                                    callback.task_id)  # fmt: skip
    if current is None:
        return CallbackAnswer.UNKNOWN
    if current.status.is_final:
        return CallbackAnswer.USED
    now = runtime.clock.time()
    if callback.expires_at is not None and now >= callback.expires_at:
        return CallbackAnswer.EXPIRED
    if callback.heartbeat_seconds is not None and current.resume_at is not None and (
        now >= current.resume_at
    ):
        return CallbackAnswer.EXPIRED  # a heartbeat was missed: the wait has timed out
    return callback, current, now


def _answered(current: TaskRecord, body_json: str, now: float) -> TaskRecord:
    """The request wait COMPLETED with the POSTed body as its output."""
    return replace(current, status=TaskStatus.COMPLETED, output_json=body_json, error=None,
                   completed_at=now, resume_at=None)  # fmt: skip


async def _end_wait(runtime: Runtime, final: TaskRecord, now: float) -> CallbackAnswer:
    """Records the wait's end (one conditional put_task) and wakes the run."""
    if not await runtime.call(runtime.store.put_task, final):
        return CallbackAnswer.USED
    await wake(runtime, final.run_id, now)
    return CallbackAnswer.RESUMED


async def complete_wait(
    runtime: Runtime, current: TaskRecord, body_json: str, *, expires_at: float | None
) -> CallbackAnswer:
    """Records the request wait `current` COMPLETED with `body_json` and wakes its run,
    unless it is already final (USED) or past `expires_at` (EXPIRED), as the first
    ``POST {url}`` would: `triggerfish.core.testing.answer_request` ends here.
    """
    if current.status.is_final:
        return CallbackAnswer.USED
    now = runtime.clock.time()
    if expires_at is not None and now >= expires_at:
        return CallbackAnswer.EXPIRED
    return await _end_wait(runtime, _answered(current, body_json, now), now)
