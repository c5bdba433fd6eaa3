"""Cron and interval triggers: each slot fires exactly once, on any store, in any time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from support.jobs import make_client
from triggerfish.core import IO, ConfigError, Context, SkippingClock, cron_trigger, interval_trigger
from triggerfish.core.schedule import latest_cron_slot, next_fire_times


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def iso(text: str) -> str:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).isoformat()


async def test_a_cron_slot_fires_once_however_many_ticks_see_it(store: Any) -> None:
    client = make_client(store)
    seen: list[Any] = []

    @client.define_job(id="hourly", trigger=cron_trigger("15 * * * *"))
    async def hourly(payload: Any, io: IO, ctx: Context) -> None:
        seen.append(payload)

    await client.tick(now=at("2026-03-01T10:15:20"))
    await client.tick(now=at("2026-03-01T10:16:00"))
    assert len((await client.list_runs(job_id="hourly")).runs) == 1
    await client.tick(now=at("2026-03-01T11:15:01"))

    runs = (await client.list_runs(job_id="hourly")).runs
    assert [r.payload for r in reversed(runs)] == [
        {"ts": "2026-03-01T10:15:00+00:00", "last_timestamp": None},
        {"ts": "2026-03-01T11:15:00+00:00", "last_timestamp": "2026-03-01T10:15:00+00:00"},
    ]


async def test_last_timestamp_is_the_previous_runs_ts_not_the_previous_slot(store: Any) -> None:
    clock = SkippingClock()
    client = make_client(store, clock=clock)

    @client.define_job(id="every-5m", trigger=cron_trigger("*/5 * * * *"))
    async def every(payload: Any, io: IO, ctx: Context) -> None:
        return None

    seen: set[str] = set()

    async def fired_at(moment: str) -> list[Any]:
        """Payloads of the runs the tick at `moment` started (it also re-dispatches due runs)."""
        clock.advance_to(at(moment))
        before = set(seen)
        seen.update(r.id for r in (await client.list_runs(job_id="every-5m")).runs)
        started = [rid for rid in await client.tick() if rid not in before | seen]
        seen.update(started)
        return [(await client.get_run(run_id)).payload for run_id in started]

    assert await fired_at("2030-03-01T10:00:30") == [
        {"ts": iso("2030-03-01T10:00"), "last_timestamp": None}
    ]
    # 10:05 passes with no tick (the ticker was down); a manual run with a copied
    # payload is not a scheduled run
    await client.invoke("every-5m", {"ts": iso("2030-03-01T10:07"), "last_timestamp": None})
    assert await fired_at("2030-03-01T10:10:05") == [
        {"ts": iso("2030-03-01T10:10"), "last_timestamp": iso("2030-03-01T10:00")}
    ]
    assert await fired_at("2030-03-01T10:15:01") == [
        {"ts": iso("2030-03-01T10:15"), "last_timestamp": iso("2030-03-01T10:10")}
    ]


async def test_an_interval_fires_once_per_interval(store: Any) -> None:
    client = make_client(store)

    @client.define_job(id="every-5m", trigger=interval_trigger(300))
    async def every(payload: Any, io: IO, ctx: Context) -> None:
        return None

    for minute in range(10):
        await client.tick(now=at(f"2026-03-01T10:{minute:02d}:30"))
    runs = (await client.list_runs(job_id="every-5m")).runs
    assert sorted((r.payload["ts"], r.payload["last_timestamp"]) for r in runs) == [
        ("2026-03-01T10:00:00+00:00", None),
        ("2026-03-01T10:05:00+00:00", "2026-03-01T10:00:00+00:00"),
    ]


async def test_a_zoned_daily_job_fires_once_on_both_dst_days(tmp_path: Any) -> None:
    from triggerfish.core import SQLiteStore

    client = make_client(SQLiteStore(tmp_path / "runs.db"))

    @client.define_job(id="nightly", trigger=cron_trigger("30 2 * * *", timezone="Europe/Berlin"))
    async def nightly(payload: Any, io: IO, ctx: Context) -> None:
        return None

    # every minute from 23:00 UTC the evening before to 03:00 UTC, on both DST days
    for day_before, day in (("2024-03-30", "2024-03-31"), ("2024-10-26", "2024-10-27")):
        for minute in range(4 * 60 + 1):
            hour, rest = divmod(minute + 23 * 60, 60)
            date = day_before if hour < 24 else day
            await client.tick(now=at(f"{date}T{hour % 24:02d}:{rest:02d}:10"))
    runs = (await client.list_runs(job_id="nightly")).runs
    assert sorted(r.payload["ts"] for r in runs) == [
        "2024-03-31T01:00:00+00:00",  # 02:30 did not exist: 03:00 CEST, once
        "2024-10-27T00:30:00+00:00",  # 02:30 came twice: the first (CEST), once
    ]


def test_next_fire_times_read_names_macros_and_zones() -> None:
    now = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # a Monday

    def times(expr: str, count: int = 3, timezone: str | None = None) -> list[str]:
        trigger = cron_trigger(expr, timezone=timezone)
        return [t.isoformat() for t in next_fire_times(trigger, now, count)]

    assert times("@daily") == [iso(f"2026-03-0{d}T00:00") for d in (3, 4, 5)]
    assert times("@hourly", 2) == [iso("2026-03-02T10:00"), iso("2026-03-02T11:00")]
    assert times("0 9 * * MON-FRI", 2) == [iso("2026-03-03T09:00"), iso("2026-03-04T09:00")]
    assert times("0 0 1 JAN,jul *", 2) == [iso("2026-07-01T00:00"), iso("2027-01-01T00:00")]
    assert times("0 9 * * *", 1, "America/New_York") == [iso("2026-03-02T14:00")]
    # New York springs forward on 2026-03-08: 09:00 local moves from 14:00 to 13:00 UTC
    assert times("0 9 * * *", 8, "America/New_York")[-3:] == [
        iso("2026-03-07T14:00"), iso("2026-03-08T13:00"), iso("2026-03-09T13:00"),
    ]
    assert [t.isoformat() for t in next_fire_times(interval_trigger(3600), now, 2)] == [
        iso("2026-03-02T10:00"), iso("2026-03-02T11:00"),
    ]
    assert latest_cron_slot("0 9 * * 1-5", now) == datetime(2026, 3, 2, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expr", "timezone", "message"),
    [
        ("* * *", None, "needs 5 fields"),
        ("0 0 * * * *", None, "needs 5 fields"),
        ("0 25 * * *", None, "'0 25 \\* \\* \\*' is invalid: Bad hour"),
        ("0 0 * FOO *", None, "invalid: Bad month"),
        ("0 0 31 2 *", None, "invalid"),
        ("@fortnightly", None, "needs 5 fields .* or a macro"),
        ("", None, "non-empty"),
        ("0 9 * * *", "Mars/Olympus", "timezone 'Mars/Olympus' is not a known IANA time zone"),
        ("0 9 * * *", "../etc/passwd", "is not a known IANA time zone"),
    ],
)
def test_bad_cron_triggers_fail_when_defined(
    expr: str, timezone: str | None, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        cron_trigger(expr, timezone=timezone)


def test_intervals_are_checked_when_defined() -> None:
    with pytest.raises(ConfigError, match="at least 60"):
        interval_trigger(5)
