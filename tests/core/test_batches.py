"""Batching (issue 19 item 4): one run per batch of events, its payload their payloads in
arrival order, started when full or `max_wait` after the first; racing senders on separate
clients lose no event and count none twice."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from support.flow import drain, sibling_store
from support.jobs import make_client
from triggerfish.core import IO, Batch, Client, ConfigError, Context, RunStatus, event_trigger


def batching(store: Any, batches: list[list[Any]], batch: Batch) -> Client:
    client = make_client(store)

    @client.define_job(id="bulk-insert", trigger=event_trigger("row.added", batch=batch))
    async def job(payload: list[Any], io: IO, ctx: Context) -> int:
        batches.append(payload)
        return len(payload)

    return client


async def test_events_make_one_run_per_full_batch_and_one_after_max_wait(store: Any) -> None:
    batches: list[list[Any]] = []
    client = batching(store, batches, Batch(max_size=3, max_wait=30))
    run_ids = [(await client.send_event("row.added", {"n": n})).run_ids[0] for n in range(7)]

    assert len(set(run_ids)) == 3 and run_ids[:3] == [run_ids[0]] * 3
    waiting = await client.get_run(run_ids[6], tasks=False)
    assert (waiting.status, waiting.queued_reason) == (RunStatus.QUEUED, "batch")
    await drain(client)  # the two full batches start at once
    assert batches == [[{"n": 0}, {"n": 1}, {"n": 2}], [{"n": 3}, {"n": 4}, {"n": 5}]]

    client.clock.advance(30)  # type: ignore[attr-defined]
    await drain(client)
    assert batches[2:] == [[{"n": 6}]]
    last = await client.get_run(run_ids[6], tasks=False)
    assert (last.status, last.payload, last.output) == (RunStatus.COMPLETED, [{"n": 6}], 1)


async def test_an_event_sent_again_with_its_id_is_counted_once(sqlite_or_moto_store: Any) -> None:
    batches: list[list[Any]] = []
    client = batching(sqlite_or_moto_store, batches, Batch(max_size=10, max_wait=5))
    await client.send_event("row.added", {"n": 1}, id="row-1")
    await client.send_event("row.added", {"n": 1}, id="row-1")
    await client.send_event("row.added", {"n": 2}, id="row-2")
    client.clock.advance(5)  # type: ignore[attr-defined]
    await drain(client)
    assert batches == [[{"n": 1}, {"n": 2}]]


SENDERS = 4
EVENTS_PER_SENDER = 12


def test_racing_senders_on_separate_clients_lose_no_event_and_count_none_twice(
    sqlite_or_moto_store: Any,
) -> None:
    batches: list[list[Any]] = []
    batch = Batch(max_size=5, max_wait=60)
    stores = [sibling_store(sqlite_or_moto_store) for _ in range(SENDERS)]
    barrier = threading.Barrier(SENDERS)

    def send_all(sender: int) -> None:
        client = batching(stores[sender], [], batch)

        async def sends() -> None:
            barrier.wait()
            for n in range(EVENTS_PER_SENDER):
                await client.send_event("row.added", {"sender": sender, "n": n})

        asyncio.run(sends())

    threads = [threading.Thread(target=send_all, args=(s,)) for s in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()

    worker = batching(sqlite_or_moto_store, batches, batch)
    worker.clock.advance(60)  # type: ignore[attr-defined]
    asyncio.run(drain(worker))
    received = [(row["sender"], row["n"]) for rows in batches for row in rows]
    assert sorted(received) == [(s, n) for s in range(SENDERS) for n in range(EVENTS_PER_SENDER)]
    assert all(1 <= len(rows) <= 5 for rows in batches)
    assert sum(len(rows) == 5 for rows in batches) >= len(received) // 5 - SENDERS
    for rows in batches:  # arrival order: each sender's events in the order it sent them
        for sender in range(SENDERS):
            mine = [row["n"] for row in rows if row["sender"] == sender]
            assert mine == sorted(mine)


async def test_a_schema_validates_each_event_and_the_run_gets_the_models(store: Any) -> None:
    import pydantic

    class Row(pydantic.BaseModel):
        n: int

    client = make_client(store)
    got: list[Any] = []

    @client.define_job(id="typed", trigger=event_trigger("row", schema=Row,
                                                          batch=Batch(max_size=2, max_wait=9)))  # fmt: skip
    async def job(payload: list[Row], io: IO, ctx: Context) -> None:
        got.append(payload)

    bad = await client.send_event("row", {"n": "not a number"})
    await client.send_event("row", {"n": 1})
    await client.send_event("row", {"n": 2})
    await drain(client)
    assert got == [[Row(n=1), Row(n=2)]]
    invalid = await client.get_run(bad.run_ids[0], tasks=False)
    assert invalid.status is RunStatus.INVALID_PAYLOAD


def test_batch_options_are_checked() -> None:
    with pytest.raises(ConfigError, match="Batch max_size must be an integer from 1 to 1000"):
        Batch(max_size=0, max_wait=1)
    with pytest.raises(ConfigError, match="Batch max_wait must be more than 0"):
        Batch(max_size=2, max_wait=0)
    with pytest.raises(ConfigError, match="event_trigger batch must be a Batch"):
        event_trigger("x", batch=3)  # type: ignore[arg-type]
