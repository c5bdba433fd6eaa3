"""Delayed events: `send_event(deliver_at=, deliver_after=)`, delivered by the tick; `cancel_event`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from support.jobs import make_client
from triggerfish.core import (
    IO,
    ConfigError,
    Context,
    EventNotFound,
    RunStatus,
    SQLiteStore,
    event_trigger,
    invoke_trigger,
)


def define_jobs(client: Any) -> None:
    @client.define_job(id="on-remind", trigger=event_trigger("remind"))
    async def on_remind(payload: Any, io: IO, ctx: Context) -> Any:
        return payload

    @client.define_job(id="waiter", trigger=invoke_trigger())
    async def waiter(payload: Any, io: IO, ctx: Context) -> Any:
        # Longer than the default hour: the delayed event comes after 3600 s.
        return (await io.wait_for_event("r", "remind", timeout=timedelta(days=1))).payload


async def test_a_delayed_event_is_delivered_by_the_tick_at_its_time(store: Any) -> None:
    client = make_client(store)
    define_jobs(client)
    waiting = await client.invoke("waiter", None)
    await client.execute(waiting.id)

    event = await client.send_event("remind", {"n": 1}, id="ev-1", deliver_after=3600)
    assert (event.status, event.run_ids) == ("pending", [])
    assert event.deliver_at is not None
    assert await client.tick() == []  # not yet due
    assert (await client.list_runs(job_id="on-remind")).runs == []

    client.clock.advance(3601)
    started = await client.tick()

    (run_id,) = [r for r in started if r != waiting.id]
    assert (await client.get_run(run_id, tasks=False)).job_id == "on-remind"
    stored = store.get_event("ev-1")
    assert (stored.status, stored.run_ids) == ("delivered", (run_id,))
    await client.execute(waiting.id)
    assert (await client.get_run(waiting.id)).output == {"n": 1}  # a wait begun before it
    client.clock.advance(3600)
    await client.tick()
    assert len((await client.list_runs(job_id="on-remind")).runs) == 1  # delivered once
    again = await client.send_event("remind", {"n": 2}, id="ev-1", deliver_after=5)
    assert (again.status, again.run_ids) == ("delivered", [run_id])  # idempotent on id


async def test_a_canceled_event_is_never_delivered(store: Any) -> None:
    client = make_client(store)
    define_jobs(client)
    at = datetime.fromtimestamp(client.clock.time(), tz=UTC) + timedelta(minutes=5)
    await client.send_event("remind", {"n": 1}, id="ev-c", deliver_at=at)

    assert await client.cancel_event("ev-c") is True
    assert await client.cancel_event("ev-c") is False
    client.clock.advance(600)
    assert await client.tick() == []
    assert store.get_event("ev-c").status == "canceled"
    with pytest.raises(EventNotFound, match="'nope'"):
        await client.cancel_event("nope")


async def test_an_event_already_delivered_cannot_be_canceled(tmp_path: Any) -> None:
    client = make_client(SQLiteStore(tmp_path / "runs.db"))
    define_jobs(client)
    await client.send_event("remind", {}, id="now")
    assert await client.cancel_event("now") is False


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"deliver_after": 5, "deliver_at": datetime.now(UTC)}, "not both"),
        ({"deliver_after": -1}, "deliver_after must be more than 0"),
        ({"deliver_after": float("nan")}, "deliver_after must be more than 0"),
        ({"deliver_at": datetime(2030, 1, 1)}, "deliver_at must be an aware datetime"),
        ({"deliver_after": timedelta(days=400)}, "at most 31536000"),
    ],
)
async def test_bad_delivery_times_are_refused_and_store_nothing(
    tmp_path: Any, options: dict[str, Any], message: str
) -> None:
    client = make_client(SQLiteStore(tmp_path / "runs.db"))
    define_jobs(client)
    with pytest.raises(ConfigError, match=message):
        await client.send_event("remind", {}, id="bad", **options)
    assert client.store.get_event("bad") is None


async def test_a_delivery_cut_short_is_delivered_again_later(tmp_path: Any) -> None:
    client = make_client(SQLiteStore(tmp_path / "runs.db"))
    define_jobs(client)
    await client.send_event("remind", {}, id="ev-x", deliver_after=10)
    client.clock.advance(11)
    # A sweeper claimed it and died before starting the runs:
    assert client.store.update_event(
        "ev-x", expected_status="pending",
        changes={"status": "delivering", "deliver_at": client.clock.time() + 60,
                 "sent_at": client.clock.time()},
    )  # fmt: skip
    assert await client.tick() == []
    client.clock.advance(61)
    (run_id,) = await client.tick()
    assert (await client.get_run(run_id, tasks=False)).status is RunStatus.PENDING
    assert client.store.get_event("ev-x").status == "delivered"
