"""What the adapter needs of Lambda's context object, as a Protocol tests can fake."""

from __future__ import annotations

from typing import Protocol


class LambdaContext(Protocol):
    """The part of Lambda's context the adapter reads."""

    def get_remaining_time_in_millis(self) -> int: ...


def deadline_of(context: LambdaContext | None, now: float) -> float | None:
    """The epoch time by which this invocation must have returned (None without a context).

    `now` is the client's clock, so the deadline and the engine agree on time.
    """
    if context is None or not hasattr(context, "get_remaining_time_in_millis"):
        return None
    return now + context.get_remaining_time_in_millis() / 1000.0
