"""Durations a user passes (waits, retries, max_duration, intervals): checked at the call.

A time stored out of range (1e12 s, inf, NaN) would break every later read of the store,
so each one is refused where it is given, with an error naming the field and the limit.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

MAX_SECONDS = 365 * 24 * 3600.0
"""The longest duration accepted anywhere (365 days): waits, retry timeouts, max_duration,
interval triggers."""


def checked_seconds(
    value: Any,
    *,
    field: str,
    minimum: float = 0.0,
    maximum: float = MAX_SECONDS,
    exclusive_minimum: bool = False,
) -> float:
    """`value` (seconds as a number, or a timedelta) as float seconds within the limits.

    Raises ValueError naming `field` and the limit for anything else: not a number, NaN,
    infinite, below `minimum` (or equal, when `exclusive_minimum`) or above `maximum`.
    """
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{field} must be seconds (a number or a timedelta), got {value!r}")  # noqa: TRY004
    try:
        seconds = float(value)
    except OverflowError:
        seconds = math.inf
    low = f"more than {minimum:g}" if exclusive_minimum else f"at least {minimum:g}"
    is_low = seconds <= minimum if exclusive_minimum else seconds < minimum
    if not math.isfinite(seconds) or is_low or seconds > maximum:
        raise ValueError(
            f"{field} must be a finite number of seconds, {low} and at most {maximum:g} "
            f"({maximum / 86400:g} days), got {value!r}"
        )
    return seconds
