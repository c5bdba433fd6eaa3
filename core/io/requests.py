"""`io.wait_for_request`: hand a one-time callback URL to `fn`, wait for its first POST.

    first call:  task WAITING kind "request" (resume_at = timeout) -> subtask "send url":
                 a fresh token, its hash stored as a callback item, `fn(url)` once
                 -> suspend (WAITING, no invocation)
    POST:        core/callbacks.py records the task COMPLETED with the body, wakes the run
    POST /fail:  ERRORED with the sender's {type, message}: `CallbackFailed` on every replay
    heartbeat_timeout: the wait's resume_at is the sooner of its timeout and H seconds
                 ahead; each POST /heartbeat moves it H seconds ahead of then
    timeout:     ERRORED WaitTimeout, raised as `WaitTimeout` on this and every replay
"""

from __future__ import annotations

import inspect
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ..callbacks import CALLBACK_FAILED, callback_url, new_token, token_hash
from ..durations import duration_seconds
from ..errors import CallbackFailed, ConfigError, TaskFailed, WaitTimeout
from ..serialize import load_json
from ..store.base import CallbackRecord, TaskRecord
from ..types import TaskStatus
from .event_waits import TIMEOUT_ERROR, recheck_at_end
from .records import wait_for_wake
from .tasks import run_task

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..port import Port

REQUEST_KIND = "request"
SEND_KEY = "send url"
"""The key, under the wait, of the subtask that calls `fn(url)`."""


async def wait_for_request(
    inv: Port,
    key: str,
    fn: Callable[[str], Any],
    *,
    timeout: float | timedelta,
    heartbeat_timeout: float | timedelta | None = None,
) -> Any:
    """The JSON body of the first POST to the callback URL handed to `fn` (module doc)."""
    if not callable(fn):
        raise ConfigError(f"io.wait_for_request fn must be callable, got {type(fn).__name__}")
    seconds = duration_seconds(timeout, field="timeout")
    heartbeat = None
    if heartbeat_timeout is not None:
        heartbeat = duration_seconds(heartbeat_timeout, field="heartbeat_timeout")
        if heartbeat <= 0:
            raise ConfigError(f"io.wait_for_request heartbeat_timeout must be more than 0 "
                              f"seconds, got {heartbeat_timeout!r}")  # fmt: skip
    claim = inv.claim(key)
    recorded = claim.recorded
    if recorded is None:
        await inv.check_budget()
        await inv.record_parent_running()
        now = inv.clock.time()
        properties = [{"label": "timeout", "text": f"{seconds:g} s"}]
        if heartbeat is not None:
            properties.append({"label": "heartbeat timeout", "text": f"{heartbeat:g} s"})
        waiting = claim.task(
            kind=REQUEST_KIND, status=TaskStatus.WAITING, attempts=1, started_at=now,
            resume_at=now + min(seconds, heartbeat or seconds), name="wait for request",
            icon="request", properties=properties,
        )  # fmt: skip
        recorded = await inv.record(waiting)
        claim = replace(claim, recorded=recorded)
    if not recorded.status.is_final:
        recheck_at_end(inv, claim.task_id)
        inv.frees_slot_while_waiting = True
        await _send_url(inv, key, recorded, fn, seconds, heartbeat)

    def timed_out(record: TaskRecord, now: float) -> TaskRecord:
        message = f"no request arrived within {seconds:g} seconds"
        if heartbeat is not None and now < (record.started_at or now) + seconds:
            message = f"no heartbeat or request arrived within {heartbeat:g} seconds"
        error = {"type": TIMEOUT_ERROR, "message": message}
        return replace(record, status=TaskStatus.ERRORED, error=error, completed_at=now)

    final = await wait_for_wake(inv, claim, kind=REQUEST_KIND, resume_at=recorded.resume_at,
                                on_timeout=timed_out)  # fmt: skip
    error = final.error or {}
    if final.status is TaskStatus.ERRORED and error.get("callback") == CALLBACK_FAILED:
        raise CallbackFailed(key, {"type": error.get("type"), "message": error.get("message")})
    if final.status is TaskStatus.ERRORED and error.get("type") == TIMEOUT_ERROR:
        raise WaitTimeout(key, f"wait {key!r}: {error.get('message')}")
    if final.status is not TaskStatus.COMPLETED:
        raise TaskFailed(key, final.error or {})
    return load_json(final.output_json)


async def _send_url(
    inv: Port, key: str, wait: TaskRecord, fn: Callable[[str], Any], seconds: float,
    heartbeat: float | None,
) -> None:  # fmt: skip
    """Runs `fn(url)` once, as the wait's subtask; a replay neither makes a token nor calls fn."""

    async def send() -> Any:
        base = inv.runtime.base_url or inv.runtime.served_base_url
        if not base:
            raise ConfigError(
                "io.wait_for_request needs a base URL for its callback: Client(base_url=...) "
                "or TRIGGERFISH_BASE_URL, or a request served by the ASGI app"
            )
        token = new_token()
        callback = CallbackRecord(token_hash=token_hash(token), run_id=wait.run_id,
                                  task_id=wait.id, key=key, created_at=inv.clock.time(),
                                  expires_at=(wait.started_at or inv.clock.time()) + seconds,
                                  heartbeat_seconds=heartbeat)  # fmt: skip
        await inv.call(inv.store.create_callback, callback)
        result = fn(callback_url(base, token))
        if inspect.isawaitable(result):
            result = await result
        return result

    with inv.in_task(wait):
        try:
            await run_task(inv, SEND_KEY, send, name="send callback URL", retry=None,
                           icon=None, properties=None)  # fmt: skip
        except TaskFailed as exc:
            raise TaskFailed(key, exc.error) from None
