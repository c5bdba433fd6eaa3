"""`io.run_task(..., timeout=)`: a time limit on each attempt of a task (issue 19.8).

    async fn, or a sync fn on its worker thread -> cancelled when the limit passes; a thread
                       cannot be stopped: the fn runs on to its end and its result is dropped
    sync fn run inline on the event loop        -> cannot be interrupted (nothing else runs
                       meanwhile): it runs to its end, and an attempt that took longer than
                       the limit fails all the same, its result dropped
    either way         -> the attempt fails with a TaskTimeout error, retried as the task's
                       RetryPolicy allows; once no retry is left the run gets `TaskTimeout`

The limit is measured in real (monotonic) time, not on the client's clock: a SkippingClock
skips waits between invocations, never the time a fn takes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

from ..errors import TASK_TIMEOUT_TYPE, ConfigError, TaskTimeout
from ..times import checked_seconds

MAX_TASK_TIMEOUT_SECONDS = 24 * 3600.0
"""The longest `timeout` a task accepts; an invocation never lasts that long anyway."""


class AttemptTimedOut(TaskTimeout):
    """This attempt ran out of time (raised where the fn is called, caught by run_task)."""


def checked_timeout(key: str, timeout: object) -> float | None:
    """`timeout` as seconds, or a ConfigError naming the task and the limit."""
    if timeout is None:
        return None
    try:
        return checked_seconds(timeout, field=f"io.run_task {key!r}: timeout",
                               maximum=MAX_TASK_TIMEOUT_SECONDS, exclusive_minimum=True)  # fmt: skip
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def timeout_error(timeout_seconds: float, attempt: int) -> dict[str, Any]:
    """The recorded error of an attempt that ran out of time."""
    return {
        "type": TASK_TIMEOUT_TYPE,
        "message": f"attempt {attempt} ran longer than the task's timeout of {timeout_seconds:g} s",
        "timeout_seconds": timeout_seconds,
    }


async def within(call: Awaitable[Any], timeout_seconds: float, *, key: str, attempt: int) -> Any:
    """Awaits `call` (a task fn's call) for at most `timeout_seconds`; AttemptTimedOut past it."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout_seconds) as scope:
            result = await call
    except TimeoutError:
        if not scope.expired():
            raise  # the fn's own TimeoutError: an ordinary failure
        raise AttemptTimedOut(key, timeout_error(timeout_seconds, attempt)) from None
    if time.monotonic() - started > timeout_seconds:  # ran inline: the loop could not cancel it
        raise AttemptTimedOut(key, timeout_error(timeout_seconds, attempt))
    return result
