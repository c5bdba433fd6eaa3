"""Cron and interval slots: which scheduled runs are due at a tick (UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .errors import ConfigError

_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day", 1, 31), ("month", 1, 12), ("weekday", 0, 6))


def _parse_field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() else 1
        if step_text and not step_text.isdigit() or step < 1:
            raise ConfigError(f"cron {name} step must be a positive integer, got {part!r}")
        if body == "*":
            start, end = low, high
        elif "-" in body:
            first, _, last = body.partition("-")
            if not (first.isdigit() and last.isdigit()):
                raise ConfigError(f"cron {name} range must be N-M, got {part!r}")
            start, end = int(first), int(last)
        elif body.isdigit():
            start = int(body)
            end = high if step_text else start
        else:
            raise ConfigError(f"cron {name} field must be *, N, N-M or a list, got {part!r}")
        if name == "weekday" and end == 7:
            end = 6 if start <= 6 else 0
            values.add(0)
        if not (low <= start <= high and low <= end <= high and start <= end):
            raise ConfigError(f"cron {name} must be within {low}-{high}, got {part!r}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def parse_cron(expr: str) -> tuple[frozenset[int], ...]:
    """The allowed values of each of the five fields; a ConfigError names the bad field."""
    parts = expr.split()
    if len(parts) != 5:
        raise ConfigError(f"cron expression needs 5 fields, got {len(parts)}: {expr!r}")
    return tuple(_parse_field(p, *spec) for p, spec in zip(parts, _FIELDS, strict=True))


def latest_cron_slot(expr: str, now: datetime) -> datetime | None:
    """The latest minute at or before `now` that `expr` matches (within a day), or None."""
    minutes, hours, days, months, weekdays = parse_cron(expr)
    slot = now.astimezone(UTC).replace(second=0, microsecond=0)
    for _ in range(24 * 60):
        if (
            slot.minute in minutes
            and slot.hour in hours
            and slot.day in days
            and slot.month in months
            and (slot.weekday() + 1) % 7 in weekdays
        ):
            return slot
        slot -= timedelta(minutes=1)
    return None


def latest_interval_slot(seconds: float, now: datetime) -> datetime:
    """The start of the interval that contains `now` (intervals count from the epoch)."""
    ts = now.timestamp()
    return datetime.fromtimestamp(ts - ts % seconds, tz=UTC)
