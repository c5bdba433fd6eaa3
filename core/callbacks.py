"""The callback side of `io.wait_for_request`: a POST to ``/api/callbacks/{token}``.

The token (``secrets.token_urlsafe(32)``) is never stored: the store keeps its SHA-256 as
the callback item's key. The first POST records the wait's task COMPLETED with the body
(one conditional put_task) and wakes the run; every later POST finds the task final.
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


class CallbackAnswer(str, Enum):
    """What a POST to a callback URL did."""

    RESUMED = "resumed"
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
    return await complete_wait(runtime, current, body_json, expires_at=callback.expires_at)


async def complete_wait(
    runtime: Runtime, current: TaskRecord, body_json: str, *, expires_at: float | None
) -> CallbackAnswer:
    """Records the request wait `current` COMPLETED with `body_json` and wakes its run,
    unless it is already final (USED) or past `expires_at` (EXPIRED).

    The callback route and `triggerfish.core.testing.answer_request` both end here.
    """
    if current.status.is_final:
        return CallbackAnswer.USED
    now = runtime.clock.time()
    if expires_at is not None and now >= expires_at:
        return CallbackAnswer.EXPIRED
    done = replace(current, status=TaskStatus.COMPLETED, output_json=body_json, error=None,
                   completed_at=now, resume_at=None)  # fmt: skip
    if not await runtime.call(runtime.store.put_task, done):
        return CallbackAnswer.USED
    await wake(runtime, current.run_id, now)
    return CallbackAnswer.RESUMED
