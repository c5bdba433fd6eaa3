"""Trivial handlers for the Runtime API harness test, run by the real awslambdaric."""

from __future__ import annotations

import time
from typing import Any

_invocations = 0


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Echo the event with what the runtime put in the context."""
    global _invocations
    _invocations += 1
    return {
        "event": event,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "request_id": context.aws_request_id,
        "function_arn": context.invoked_function_arn,
        "function_name": context.function_name,
        "invocation_in_this_process": _invocations,
    }


def fail(event: Any, context: Any) -> None:
    """Raise, so the runtime posts to the error endpoint."""
    raise ValueError(f"echo failed on purpose: {event!r}")


def sleep(event: Any, context: Any) -> str:
    """Sleep for ``event["seconds"]``, then answer (possibly after the deadline)."""
    time.sleep(event["seconds"])
    return "woke up"
