"""Durations a user passes (waits, retries, max_duration, intervals): checked at the call;
and stored epoch seconds as aware datetimes (`utc`, `to_datetime`).

A time stored out of range (1e12 s, inf, NaN) would break every later read of the store,
so each one is refused where it is given, with an error naming the field and the limit.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
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


def to_datetime(ts: float | None) -> datetime | None:
    """Epoch seconds (as stored) to an aware UTC datetime."""
    return None if ts is None else utc(ts)


MIN_TIMESTAMP = 0.0
"""1970-01-01T00:00:00Z: the earliest time the edges accept (event timestamps)."""
MAX_TIMESTAMP = 253402300799.0
"""9999-12-31T23:59:59Z: the latest time a datetime can hold."""


def utc(ts: float) -> datetime:
    """Epoch seconds to an aware UTC datetime; a time out of range is clamped, never raised.

    A bad time already stored (years past 9999, NaN) must not make every read fail.
    """
    try:
        return datetime.fromtimestamp(ts, tz=UTC)
    except (OverflowError, OSError, ValueError):
        if math.isnan(ts):
            return datetime.fromtimestamp(0, tz=UTC)
        return datetime.max.replace(tzinfo=UTC) if ts > 0 else datetime.min.replace(tzinfo=UTC)
