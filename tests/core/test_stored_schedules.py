"""Schedules made at run time (issue 19.9): stored, fired once per slot like declared ones,
paused, resumed and deleted; `list_schedules` shows declared and stored ones alike."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from support.jobs import make_client
from triggerfish.core import (
    IO,
    Client,
    ConfigError,
    Context,
    JobNotFound,
    Schedule,
    ScheduleNotFound,
    cron_trigger,
    invoke_trigger,
)


def define_jobs(client: Client) -> None:
    @client.define_job(id="report", trigger=invoke_trigger())
    async def report(payload: Any, io: IO, ctx: Context) -> Any:
        return payload

    @client.define_job(id="nightly", trigger=cron_trigger("0 3 * * *"))
    async def nightly(payload: Any, io: IO, ctx: Context) -> Any:
        return payload


def next_minute(client: Client) -> float:
    """The start of the next minute on the client's clock (an interval-60 slot)."""
    return math.floor(client.clock.time() / 60) * 60 + 60.0


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat()


async def runs_of(client: Client) -> list[Any]:
    return list((await client.list_runs("report")).runs)[::-1]  # oldest first


async def test_a_stored_schedule_fires_once_per_slot_with_its_payload(store: Any) -> None:
    client = make_client(store)
    other_process = make_client(store)
    for each in (client, other_process):
        define_jobs(each)
    slot = next_minute(client)

    made = await client.create_schedule("report", interval=60, payload={"tenant": "a"},
                                        id="tenant-a")  # fmt: skip

    assert isinstance(made, Schedule)
    assert (made.id, made.job_id, made.cron, made.interval, made.timezone, made.payload,
            made.paused) == ("tenant-a", "report", None, 60.0, None, {"tenant": "a"}, False)  # fmt: skip
    assert made.next_at == datetime.fromtimestamp(slot, tz=UTC)
    counts = []
    for ticker, now in ((client, slot - 1), (client, slot + 1), (other_process, slot + 2),
                        (client, slot + 30), (other_process, slot + 61)):  # fmt: skip
        await ticker.tick(now=now)
        counts.append(len(await runs_of(client)))

    assert counts == [0, 1, 1, 1, 2]  # not before it was made; each slot once in all
    payloads = [run.payload for run in await runs_of(client)]
    assert payloads == [
        {"tenant": "a", "ts": iso(slot), "last_timestamp": None, "schedule_id": "tenant-a"},
        {"tenant": "a", "ts": iso(slot + 60), "last_timestamp": iso(slot),
         "schedule_id": "tenant-a"},
    ]  # fmt: skip


async def test_paused_schedules_skip_their_slots_and_deleted_ones_stop(store: Any) -> None:
    client = make_client(store)
    define_jobs(client)
    slot = next_minute(client)
    made = await client.create_schedule("report", interval=timedelta(minutes=1))

    paused = await client.pause_schedule(made.id)
    assert paused.paused and paused.next_at is None
    assert (await client.pause_schedule(made.id)).paused  # safe to repeat
    await client.tick(now=slot + 1)
    assert await runs_of(client) == []
    resumed = await client.resume_schedule(made.id)
    assert not resumed.paused and resumed.next_at is not None
    await client.tick(now=slot + 61)
    assert len(await runs_of(client)) == 1
    assert await client.delete_schedule(made.id) is True
    assert await client.delete_schedule(made.id) is False
    await client.tick(now=slot + 121)
    assert len(await runs_of(client)) == 1
    with pytest.raises(ScheduleNotFound):
        await client.pause_schedule(made.id)


async def test_list_schedules_shows_declared_and_stored_ones(store: Any) -> None:
    client = make_client(store)
    define_jobs(client)
    stored = await client.create_schedule("report", cron="30 9 * * MON",
                                          timezone="Europe/Berlin", id="weekly")  # fmt: skip

    every = await client.list_schedules()
    mine = await client.list_schedules(job_id="report")

    assert [(s.id, s.job_id, s.declared) for s in every] == [
        ("nightly", "nightly", True), ("weekly", "report", False)]  # fmt: skip
    assert mine == [stored]
    assert every[0].cron == "0 3 * * *" and every[0].next_at is not None
    berlin = stored.next_at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
    assert (berlin.weekday(), berlin.hour, berlin.minute) == (0, 9, 30)
    with pytest.raises(ConfigError, match="declared in code"):
        await client.pause_schedule("nightly")
    with pytest.raises(ConfigError, match="declared in code"):
        await client.delete_schedule("nightly")


async def test_creating_with_the_same_id_updates_the_schedule_and_keeps_it_paused(
    store: Any,
) -> None:
    client = make_client(store)
    define_jobs(client)
    await client.create_schedule("report", interval=60, id="s")
    await client.pause_schedule("s")

    updated = await client.create_schedule("report", cron="@hourly", id="s", payload={"x": 1})

    assert (updated.cron, updated.interval, updated.payload, updated.paused) == (
        "@hourly", None, {"x": 1}, True)  # fmt: skip
    assert await client.list_schedules("report") == [updated]


@pytest.mark.parametrize(("options", "message"), [
    ({}, "exactly one of cron= and interval="),
    ({"cron": "* * * * *", "interval": 60}, "exactly one of cron= and interval="),
    ({"cron": "61 * * * *"}, "cron expression '61 \\* \\* \\* \\*' is invalid"),
    ({"cron": "* * * * *", "timezone": "Mars/Base"}, "timezone 'Mars/Base'"),
    ({"interval": 30}, "interval must be a finite number of seconds, at least 60"),
    ({"interval": 60, "timezone": "UTC"}, "timezone applies to cron schedules only"),
    ({"interval": 60, "payload": [1]}, "payload must be a JSON object"),
    ({"interval": 60, "payload": {"ts": 1}}, "payload may not use the keys"),
    ({"interval": 60, "id": "has space"}, "schedule id must be 1 to 128"),
])  # fmt: skip
async def test_a_bad_schedule_is_a_config_error_naming_it_and_nothing_is_stored(
    tmp_path: Any, options: dict[str, Any], message: str
) -> None:
    from triggerfish.core import SQLiteStore

    client = make_client(SQLiteStore(tmp_path / "runs.db"))
    define_jobs(client)
    with pytest.raises(ConfigError, match=message):
        await client.create_schedule("report", **options)
    assert client.store.list_schedules() == []


async def test_a_schedule_of_an_unknown_job_or_an_id_of_another_job_is_refused(
    tmp_path: Any,
) -> None:
    from triggerfish.core import SQLiteStore

    client = make_client(SQLiteStore(tmp_path / "runs.db"))
    define_jobs(client)
    with pytest.raises(JobNotFound):
        await client.create_schedule("nope", interval=60)
    await client.create_schedule("report", interval=60, id="taken")
    with pytest.raises(ConfigError, match="already belongs to a schedule of job 'report'"):
        await client.create_schedule("nightly", interval=60, id="taken")
    with pytest.raises(ScheduleNotFound):
        await client.get_schedule("missing")
