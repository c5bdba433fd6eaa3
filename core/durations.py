"""Validating the durations and times users pass (timeouts, delays): one clear error each."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from .errors import ConfigError

MAX_WAIT_SECONDS = 365 * 24 * 3600.0
"""The longest timeout or delay accepted (a year)."""


def duration_seconds(value: float | timedelta, *, field: str) -> float:
    """`value` (seconds or a timedelta) as seconds: finite, more than 0, at most a year."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise ConfigError(f"{field} must be seconds or a timedelta, got {type(value).__name__}")
    if not math.isfinite(seconds) or not 0 < seconds <= MAX_WAIT_SECONDS:
        raise ConfigError(f"{field} must be more than 0 and at most {MAX_WAIT_SECONDS:.0f} "
                          f"seconds (365 days), got {value!r}")  # fmt: skip
    return seconds


def aware_timestamp(value: datetime, *, field: str) -> float:
    """An aware datetime as epoch seconds; a naive one is a ConfigError naming `field`."""
    if not isinstance(value, datetime):
        raise ConfigError(f"{field} must be an aware datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ConfigError(f"{field} must be an aware datetime (with a time zone), got {value!r}")
    return value.timestamp()
