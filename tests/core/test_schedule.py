"""Cron and interval triggers: each slot fires exactly once, on any store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from support.jobs import make_client
from triggerfish.core import IO, ConfigError, Context, cron_trigger, interval_trigger
from triggerfish.core.schedule import latest_cron_slot


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


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
        {"ts": "2026-03-01T10:15:00+00:00", "last_timestamp": "2026-03-01T09:15:00+00:00"},
        {"ts": "2026-03-01T11:15:00+00:00", "last_timestamp": "2026-03-01T10:15:00+00:00"},
    ]


async def test_an_interval_fires_once_per_interval(store: Any) -> None:
    client = make_client(store)

    @client.define_job(id="every-5m", trigger=interval_trigger(300))
    async def every(payload: Any, io: IO, ctx: Context) -> None:
        return None

    for minute in range(10):
        await client.tick(now=at(f"2026-03-01T10:{minute:02d}:30"))
    runs = (await client.list_runs(job_id="every-5m")).runs
    assert sorted(r.payload["ts"] for r in runs) == [
        "2026-03-01T10:00:00+00:00", "2026-03-01T10:05:00+00:00",
    ]


def test_cron_expressions_are_checked_when_defined() -> None:
    assert latest_cron_slot("0 9 * * 1-5", datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    with pytest.raises(ConfigError, match="needs 5 fields"):
        cron_trigger("* * *")
    with pytest.raises(ConfigError, match="hour must be within 0-23"):
        cron_trigger("0 25 * * *")
    with pytest.raises(ConfigError, match="at least 60"):
        interval_trigger(5)
