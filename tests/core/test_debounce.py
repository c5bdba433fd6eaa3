"""Debounce (issue 19 item 3): events within `period` of the last one, per key, make one
run with the latest payload; `max_wait` bounds the delay."""

from __future__ import annotations

from typing import Any

import pytest
from support.flow import drain
from support.jobs import make_client
from triggerfish.core import (
    IO,
    ConfigError,
    Context,
    Debounce,
    RunStatus,
    event_trigger,
    invoke_trigger,
)


def debounced(store: Any, seen: list[Any], debounce: Debounce) -> Any:
    client = make_client(store)

    @client.define_job(id="reindex", trigger=event_trigger("doc.saved"), debounce=debounce)
    async def job(payload: dict[str, Any], io: IO, ctx: Context) -> None:
        seen.append((payload, ctx.event.id))

    return client


async def test_a_burst_of_events_makes_one_run_with_the_latest_payload(store: Any) -> None:
    seen: list[Any] = []
    client = debounced(store, seen, Debounce(period=10))
    clock: Any = client.clock
    ids = []
    for n in range(3):
        ids += (await client.send_event("doc.saved", {"version": n}, id=f"save-{n}")).run_ids
        clock.advance(5)
    assert len(set(ids)) == 1
    run = await client.get_run(ids[0], tasks=False)
    assert (run.status, run.queued_reason) == (RunStatus.QUEUED, "debounce")

    # Due 10 s after the first event, the run finds later events moved its time: QUEUED again
    # (one invocation per period at most, not one per event).
    assert await drain(client) == ids[:1] and seen == []
    assert (await client.get_run(ids[0], tasks=False)).status is RunStatus.QUEUED
    clock.advance(5)
    await drain(client)
    assert seen == [({"version": 2}, "save-2")]
    done = await client.get_run(ids[0], tasks=False)
    assert (done.status, done.payload) == (RunStatus.COMPLETED, {"version": 2})

    later = await client.send_event("doc.saved", {"version": 3})
    assert later.run_ids != ids[:1]  # after the run started, a new debounce
    clock.advance(10)
    await drain(client)
    assert [payload for payload, _ in seen] == [{"version": 2}, {"version": 3}]


async def test_max_wait_bounds_the_delay_of_a_steady_stream(sqlite_or_moto_store: Any) -> None:
    seen: list[Any] = []
    client = debounced(sqlite_or_moto_store, seen, Debounce(period=10, max_wait=30))
    clock: Any = client.clock
    t0 = clock.time()
    for n in range(8):  # an event every 5 s: without max_wait it would never start
        await client.send_event("doc.saved", {"version": n})
        await drain(client)
        clock.advance(5)
    # Started 30 s after the first event (with the payload of then), not 10 s after the last.
    assert [payload for payload, _ in seen] == [{"version": 6}]
    assert clock.time() - t0 == pytest.approx(40, abs=10)


async def test_debounce_applies_per_key_and_to_invoke(sqlite_or_moto_store: Any) -> None:
    client = make_client(sqlite_or_moto_store)
    seen: list[Any] = []

    @client.define_job(id="notify", trigger=invoke_trigger(),
                       debounce=Debounce(period=60, key=lambda p: p["user"]))  # fmt: skip
    async def job(payload: dict[str, Any], io: IO, ctx: Context) -> None:
        seen.append(payload)

    a1 = await client.invoke("notify", {"user": "a", "n": 1})
    b1 = await client.invoke("notify", {"user": "b", "n": 1})
    a2 = await client.invoke("notify", {"user": "a", "n": 2})
    assert a1.id == a2.id != b1.id
    assert (a2.status, a2.queued_reason) == (RunStatus.QUEUED, "debounce")
    client.clock.advance(60)  # type: ignore[attr-defined]
    await drain(client)
    assert sorted(seen, key=lambda p: p["user"]) == [{"user": "a", "n": 2}, {"user": "b", "n": 1}]


def test_debounce_options_are_checked() -> None:
    with pytest.raises(ConfigError, match="Debounce period must be more than 0"):
        Debounce(period=-1)
    with pytest.raises(ConfigError, match="Debounce max_wait must be more than 0"):
        Debounce(period=1, max_wait=0)
    with pytest.raises(ConfigError, match="Debounce key must be a function"):
        Debounce(period=1, key=3)  # type: ignore[arg-type]
