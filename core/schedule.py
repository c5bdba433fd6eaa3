"""Cron and interval slots: which scheduled runs are due at a tick, and the next fire times.

Cron expressions are evaluated by cronsim (imported only when a cron trigger is defined
or ticked): five fields with month and weekday names, ``@daily``-style macros, and an
optional IANA time zone with Debian cron's DST rules (a time skipped by a spring-forward
fires once at the first minute after the gap; a time repeated by a fall-back fires once).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol, cast

from .errors import ConfigError

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
"""The macros cron_trigger accepts, and the five fields each stands for."""

MAX_FIRE_TIMES = 100
"""The most fire times `next_fire_times` answers at once."""


def expand_cron(expr: str) -> str:
    """The five-field form of `expr` (macros expanded, spaces normalised)."""
    text = " ".join(expr.split())
    return MACROS.get(text.lower(), text)


def load_zone(name: str | None) -> tzinfo:
    """The zoneinfo zone called `name` (UTC for None); ConfigError for an unknown name."""
    if name is None:
        return UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"cron_trigger timezone {name!r} is not a known IANA time zone "
            "(for example 'Europe/Berlin'; on a system without tz data, install tzdata)"
        ) from exc


def _cronsim(expr: str, start: datetime, *, reverse: bool = False) -> Iterator[datetime]:
    try:
        from cronsim import CronSim, CronSimError
    except ImportError as exc:  # pragma: no cover - the extra is part of every install we test
        raise ConfigError(
            "cron triggers need the cronsim package: pip install 'triggerfish[cron]'"
        ) from exc
    fields = expand_cron(expr)
    if len(fields.split()) != 5:
        raise ConfigError(
            f"cron expression needs 5 fields (minute hour day month weekday) or a macro "
            f"({', '.join(MACROS)}), got {len(fields.split())}: {expr!r}"
        )
    try:
        return CronSim(fields, start, reverse=reverse)
    except CronSimError as exc:
        raise ConfigError(f"cron expression {expr!r} is invalid: {exc}") from exc


def validate_cron(expr: str, timezone: str | None = None) -> None:
    """Raises ConfigError when `expr` or `timezone` is invalid or `expr` never fires."""
    zone = load_zone(timezone)
    iterator = _cronsim(expr, datetime(2000, 1, 1, tzinfo=zone))
    try:
        next(iterator)
    except StopIteration:
        raise ConfigError(f"cron expression {expr!r} never fires") from None


def cron_times_after(expr: str, after: datetime, *, timezone: str | None = None) -> Iterator[datetime]:
    """The fire times of `expr` strictly after `after`, in order, as UTC datetimes."""
    zone = load_zone(timezone)
    iterator = _cronsim(expr, after.astimezone(zone))
    for moment in iterator:
        yield moment.astimezone(UTC)


def cron_time_before(expr: str, before: datetime, *, timezone: str | None = None) -> datetime | None:
    """The latest fire time of `expr` strictly before `before`, as UTC (None: never)."""
    for moment in _cronsim(expr, before.astimezone(load_zone(timezone)), reverse=True):
        return moment.astimezone(UTC)
    return None


def latest_cron_slot(
    expr: str,
    now: datetime,
    *,
    timezone: str | None = None,
    window: timedelta = timedelta(days=1),
) -> datetime | None:
    """The latest fire time at or before `now` (and after `now - window`), or None."""
    latest: datetime | None = None
    for moment in cron_times_after(expr, now - window, timezone=timezone):
        if moment > now:
            break
        latest = moment
    return latest


def latest_interval_slot(seconds: float, now: datetime) -> datetime:
    """The start of the interval that contains `now` (intervals count from the epoch)."""
    ts = now.timestamp()
    return datetime.fromtimestamp(ts - ts % seconds, tz=UTC)


class CronSpec(Protocol):
    """What a cron trigger (or schedule) says: its expression and time zone."""

    @property
    def kind(self) -> str: ...
    @property
    def expr(self) -> str: ...
    @property
    def timezone(self) -> str | None: ...


class IntervalSpec(Protocol):
    """What an interval trigger (or schedule) says: its period."""

    @property
    def kind(self) -> str: ...
    @property
    def seconds(self) -> float: ...


def next_fire_times(trigger: CronSpec | IntervalSpec, now: datetime, count: int) -> list[datetime]:
    """The next `count` times (UTC, strictly after `now`) at which `trigger` fires."""
    if not 0 <= count <= MAX_FIRE_TIMES:
        raise ValueError(f"count must be within 0-{MAX_FIRE_TIMES}, got {count}")
    # By kind, not isinstance: triggers.py imports this module (no import cycle in core/).
    if trigger.kind == "cron":
        cron = cast("CronSpec", trigger)
        times: list[datetime] = []
        for moment in cron_times_after(cron.expr, now, timezone=cron.timezone):
            if len(times) >= count:
                break
            times.append(moment)
        return times
    seconds = cast("IntervalSpec", trigger).seconds
    start = latest_interval_slot(seconds, now)
    return [start + timedelta(seconds=seconds * n) for n in range(1, count + 1)]
