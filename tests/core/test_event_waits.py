"""`io.wait_for_event`: runs wait in the store and any sender of a matching event wakes them."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pydantic
import pytest
from support.jobs import make_client
from triggerfish.core import (
    IO,
    ConfigError,
    Context,
    RunStatus,
    SQLiteStore,
    TaskStatus,
    WaitTimeout,
    invoke_trigger,
)
from triggerfish.core.testing import drive


def second_store(store: Any) -> Any:
    """Another connection to the same store: a second process's view of it."""
    if isinstance(store, SQLiteStore):
        return SQLiteStore(store.path)
    from triggerfish.core import DynamoDBStore

    return DynamoDBStore(store.table_name, endpoint_url=store._endpoint_url, region="us-east-1")


def define_waiter(client: Any, **options: Any) -> None:
    @client.define_job(id="waiter", trigger=invoke_trigger())
    async def waiter(payload: Any, io: IO, ctx: Context) -> Any:
        try:
            got = await io.wait_for_event("paid", "order.paid", **options)
        except WaitTimeout as exc:
            return {"timeout": exc.key}
        return {"got": got.payload}


async def test_an_event_sent_from_another_process_wakes_the_waiting_run(store: Any) -> None:
    client = make_client(store)
    define_waiter(client, filter={"order": ["o-1"]})
    run = await client.invoke("waiter", None)

    outcome = await client.execute(run.id)
    assert outcome.status is RunStatus.WAITING  # until the event, or the default hour
    waiting = await client.get_run(run.id)
    (task,) = waiting.tasks
    assert (task.key, task.kind, task.status) == ("paid", "event", TaskStatus.WAITING)

    other = make_client(second_store(store))  # no job defined: it only sends
    await other.send_event("order.paid", {"order": "o-2"})  # filter does not match
    await other.send_event("order.other", {"order": "o-1"})  # name does not match
    assert (await client.get_run(run.id, tasks=False)).status is RunStatus.WAITING
    await other.send_event("order.paid", {"order": "o-1", "total": 5}, id="ev-1")

    finished = await client.execute(run.id)
    assert finished.status is RunStatus.COMPLETED
    done = await client.get_run(run.id)
    assert done.output == {"got": {"order": "o-1", "total": 5}}
    assert done.tasks[0].properties == [{"label": "event id", "text": "ev-1"}]
    assert store.list_event_waits("order.paid") == []  # cleaned up


async def test_an_event_sent_before_the_wait_began_does_not_count(store: Any) -> None:
    client = make_client(store)
    define_waiter(client)
    run = await client.invoke("waiter", None)
    await client.send_event("order.paid", {"early": True})
    assert (await client.execute(run.id)).status is RunStatus.WAITING

    # A send that read the index late: the wait began after the event's send time.
    from triggerfish.core.event_waits import resolve_event_waits
    from triggerfish.core.store.base import EventRecord

    early = client.clock.time() - 5
    late = EventRecord(id="late", name="order.paid", timestamp=early, payload_json='{"late": 1}',
                       sent_at=early)  # fmt: skip
    assert await resolve_event_waits(client.runtime, late) == []
    assert (await client.get_run(run.id, tasks=False)).status is RunStatus.WAITING
    await client.send_event("order.paid", {"late": False})
    await client.execute(run.id)
    assert (await client.get_run(run.id)).output == {"got": {"late": False}}


async def test_the_timeout_raises_wait_timeout_and_replays_without_waiting(store: Any) -> None:
    client = make_client(store)
    define_waiter(client, timeout=timedelta(minutes=10))
    run = await client.invoke("waiter", None)

    report = await drive(client, run.id, skip_timeouts=True)  # else it stops at the wait

    assert report.status is RunStatus.COMPLETED
    done = await client.get_run(run.id)
    assert done.output == {"timeout": "paid"}
    assert done.tasks[0].status is TaskStatus.ERRORED
    assert done.tasks[0].error["type"] == "WaitTimeout"
    assert store.list_event_waits("order.paid") == []
    await client.send_event("order.paid", {"too": "late"})  # changes nothing now
    assert (await client.get_run(run.id)).output == {"timeout": "paid"}


async def test_two_racing_events_resolve_the_wait_one_way_only(store: Any) -> None:
    client = make_client(store)
    define_waiter(client)
    run = await client.invoke("waiter", None)
    await client.execute(run.id)
    other = make_client(second_store(store))

    await asyncio.gather(
        client.send_event("order.paid", {"n": 1}, id="a"),
        other.send_event("order.paid", {"n": 2}, id="b"),
    )

    await client.execute(run.id)
    done = await client.get_run(run.id)
    (winner,) = done.tasks[0].properties or []
    assert done.output == {"got": {"n": 1 if winner["text"] == "a" else 2}}


class Paid(pydantic.BaseModel):
    order: str
    total: int


async def test_the_schema_parses_the_payload_and_a_misfit_fails_naming_the_key(
    tmp_path: Any,
) -> None:
    client = make_client(SQLiteStore(tmp_path / "runs.db"))

    @client.define_job(id="typed", trigger=invoke_trigger())
    async def typed(payload: Any, io: IO, ctx: Context) -> Any:
        paid = (await io.wait_for_event("paid", "order.paid", schema=Paid)).payload
        return {"is_model": isinstance(paid, Paid), "total": paid.total}

    good = await client.invoke("typed", None)
    bad = await client.invoke("typed", None, id="bad-run")
    await client.execute(good.id)
    await client.execute(bad.id)
    await client.send_event("order.paid", {"order": "o", "total": 3})
    await client.execute(good.id)
    assert (await client.get_run(good.id)).output == {"is_model": True, "total": 3}

    other = await client.invoke("typed", None, id="late-run")
    await client.execute(other.id)
    await client.send_event("order.paid", {"order": "o", "total": "lots"})
    await client.execute(other.id)
    failed = await client.get_run(other.id)
    assert failed.status is RunStatus.FAILED
    assert "'paid'" in failed.error["message"] and "Paid" in failed.error["message"]


async def test_a_run_waits_on_an_event_sent_by_another_runs_io_send_event(tmp_path: Any) -> None:
    client = make_client(SQLiteStore(tmp_path / "runs.db"))
    define_waiter(client)

    @client.define_job(id="payer", trigger=invoke_trigger())
    async def payer(payload: Any, io: IO, ctx: Context) -> None:
        await io.send_event("pay", "order.paid", {"by": "payer"})

    waiter = await client.invoke("waiter", None)
    await client.execute(waiter.id)
    payer_run = await client.invoke("payer", None)
    await drive(client, payer_run.id)
    await client.execute(waiter.id)
    assert (await client.get_run(waiter.id)).output == {"got": {"by": "payer"}}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"timeout": 0}, "timeout must be more than 0"),
        ({"timeout": float("inf")}, "timeout must be more than 0"),
        ({"timeout": timedelta(days=366)}, "at most 31536000 seconds"),
        ({"timeout": "soon"}, "timeout must be seconds or a timedelta"),
        ({"filter": {"n": [{"$nope": 1}]}}, "filter.n"),
    ],
)
async def test_bad_options_fail_the_run_with_an_error_naming_them(
    tmp_path: Any, options: dict[str, Any], message: str
) -> None:
    client = make_client(SQLiteStore(tmp_path / "runs.db"))

    @client.define_job(id="bad", trigger=invoke_trigger())
    async def bad(payload: Any, io: IO, ctx: Context) -> Any:
        try:
            await io.wait_for_event("k", "order.paid", **options)
        except ConfigError as exc:
            return str(exc)
        return None

    run = await client.invoke("bad", None)
    await drive(client, run.id)
    done = await client.get_run(run.id)
    assert message in done.output
    assert done.tasks == [] and client.store.list_event_waits("order.paid") == []


async def test_a_run_waiting_for_an_event_gives_its_concurrency_slot_back(store: Any) -> None:
    client = make_client(store)

    @client.define_job(id="one-at-a-time", trigger=invoke_trigger(), concurrency_limit=1)
    async def one(payload: Any, io: IO, ctx: Context) -> Any:
        return (await io.wait_for_event("go", "go")).payload

    first = await client.invoke("one-at-a-time", None)
    second = await client.invoke("one-at-a-time", None)
    assert (await client.execute(first.id)).status is RunStatus.WAITING
    assert (await client.execute(second.id)).status is RunStatus.WAITING  # not QUEUED

    await client.send_event("go", {"n": 1})
    assert (await client.execute(first.id)).status is RunStatus.COMPLETED
    assert (await client.execute(second.id)).status is RunStatus.COMPLETED
    assert store.get_concurrency_holder("one-at-a-time", 0) is None


async def test_the_wait_returns_the_event_with_its_id_name_timestamp_and_context(
    store: Any,
) -> None:
    client = make_client(store)

    @client.define_job(id="waiter", trigger=invoke_trigger())
    async def waiter(payload: Any, io: IO, ctx: Context) -> Any:
        event = await io.wait_for_event("paid", "order.paid", schema=Paid)
        assert event.timestamp.tzinfo is not None and isinstance(event.payload, Paid)
        return {"id": event.id, "name": event.name, "total": event.payload.total,
                "timestamp": event.timestamp.isoformat(), "context": event.context}  # fmt: skip

    run = await client.invoke("waiter", None)
    await client.execute(run.id)
    sent = await client.send_event("order.paid", {"order": "o", "total": 7}, id="ev-7",
                                   context={"tenant": "t-7"})  # fmt: skip
    await drive(client, run.id)
    assert (await client.get_run(run.id)).output == {
        "id": "ev-7", "name": "order.paid", "total": 7,
        "timestamp": sent.timestamp.isoformat(), "context": {"tenant": "t-7"},
    }  # fmt: skip


async def test_without_a_timeout_the_wait_ends_after_one_hour(store: Any) -> None:
    client = make_client(store)
    define_waiter(client)
    run = await client.invoke("waiter", None)
    began = client.clock.time()

    outcome = await client.execute(run.id)
    assert outcome.resume_at == pytest.approx(began + 3600)
    await drive(client, run.id, skip_timeouts=True)  # only the wait's timeout is left

    done = await client.get_run(run.id)
    assert done.output == {"timeout": "paid"}
    assert "within 3600 seconds" in done.tasks[0].error["message"]


async def test_timeout_none_is_refused_naming_timeout(sqlite_or_moto_store: Any) -> None:
    client = make_client(sqlite_or_moto_store)

    @client.define_job(id="forever", trigger=invoke_trigger())
    async def forever(payload: Any, io: IO, ctx: Context) -> Any:
        try:
            await io.wait_for_event("k", "order.paid", timeout=None)  # type: ignore[arg-type]
        except ConfigError as exc:
            return str(exc)
        return None

    run = await client.invoke("forever", None)
    await drive(client, run.id)
    done = await client.get_run(run.id)
    assert "timeout must be seconds or a timedelta" in done.output and "None" in done.output
    assert done.tasks == []


async def test_a_wait_recorded_with_the_payload_alone_replays_as_an_event(store: Any) -> None:
    """Runs recorded before the wait returned the event kept only the payload as output."""
    from dataclasses import replace

    client = make_client(store)

    @client.define_job(id="waiter", trigger=invoke_trigger())
    async def waiter(payload: Any, io: IO, ctx: Context) -> Any:
        event = await io.wait_for_event("paid", "order.paid")
        return {"id": event.id, "name": event.name, "payload": event.payload,
                "context": event.context, "aware": event.timestamp.tzinfo is not None}  # fmt: skip

    run = await client.invoke("waiter", None)
    await client.execute(run.id)
    (task,) = store.load_history(run.id).tasks.values()
    old = replace(task, status=TaskStatus.COMPLETED, output_json='{"order": "o-1"}',
                  completed_at=client.clock.time(), resume_at=None,
                  properties=[{"label": "event id", "text": "ev-old"}])  # fmt: skip
    assert store.put_task(old)
    store.delete_event_wait("order.paid", run.id, task.id)
    await drive(client, run.id)

    assert (await client.get_run(run.id)).output == {
        "id": "ev-old", "name": "order.paid", "payload": {"order": "o-1"}, "context": None,
        "aware": True,
    }  # fmt: skip
