"""Events from inside a run (issue 16, items 1 and 4): io.send_event's delays and context,
io.send_events, io.get_event, io.cancel_event, client.cancel_runs_for_event and
client.get_run_statuses, on every store."""

from __future__ import annotations

from typing import Any

import pytest
from support.jobs import make_client
from triggerfish.core import (
    IO,
    ConfigError,
    Context,
    EventNotFound,
    RunNotFound,
    RunStatus,
    TaskStatus,
    event_trigger,
    invoke_trigger,
)
from triggerfish.core.testing import drive


def define_receiver(client: Any, name: str = "order.paid") -> None:
    @client.define_job(id=f"on-{name}", trigger=event_trigger(name))
    async def receive(payload: Any, io: IO, ctx: Context) -> Any:
        return {"payload": payload, "context": ctx.event.context, "event": ctx.event.id}


async def test_io_send_event_carries_its_context_to_the_runs_it_starts(store: Any) -> None:
    client = make_client(store)
    define_receiver(client)

    @client.define_job(id="sender", trigger=invoke_trigger())
    async def sender(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.send_event("pay", "order.paid", {"n": 1}, context={"tenant": "t-1"})

    run = await client.invoke("sender", None)
    await drive(client, run.id)
    sent = (await client.get_run(run.id)).output
    assert sent["id"] == f"{run.id}:pay" and sent["context"] == {"tenant": "t-1"}
    (started,) = sent["run_ids"]
    await drive(client, started)
    received = (await client.get_run(started)).output
    assert received == {"payload": {"n": 1}, "context": {"tenant": "t-1"}, "event": sent["id"]}


async def test_a_run_started_by_an_event_without_context_sees_an_empty_one(store: Any) -> None:
    client = make_client(store)
    define_receiver(client)
    event = await client.send_event("order.paid", {"n": 2})
    assert event.context is None
    await drive(client, event.run_ids[0])
    assert (await client.get_run(event.run_ids[0])).output["context"] == {}


async def test_io_send_event_delays_and_a_replay_returns_what_was_recorded(store: Any) -> None:
    client = make_client(store)
    define_receiver(client)

    @client.define_job(id="sender", trigger=invoke_trigger())
    async def sender(payload: Any, io: IO, ctx: Context) -> Any:
        sent = await io.send_event("later", "order.paid", {"n": 3}, deliver_after=600)
        await io.wait("pause", seconds=900)  # the event is delivered meanwhile
        return sent

    run = await client.invoke("sender", None)
    assert (await client.execute(run.id)).status is RunStatus.WAITING
    assert (await client.list_runs(job_id="on-order.paid")).runs == []
    client.clock.advance(601)
    (started,) = await client.tick()
    await drive(client, run.id)

    done = await client.get_run(run.id)
    # Recorded when sent: pending, no runs. The replay neither sent it again nor re-read it.
    assert (done.output["status"], done.output["run_ids"]) == ("pending", [])
    assert done.output["deliver_at"] is not None
    assert store.get_event(f"{run.id}:later").run_ids == (started,)
    assert len((await client.list_runs(job_id="on-order.paid")).runs) == 1


async def test_io_send_events_sends_each_in_order_with_default_ids(store: Any) -> None:
    client = make_client(store)
    define_receiver(client, "a")
    define_receiver(client, "b")

    @client.define_job(id="sender", trigger=invoke_trigger())
    async def sender(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.send_events("both", [
            {"name": "a", "payload": {"n": 1}},
            {"name": "b", "payload": {"n": 2}, "id": "ev-b", "context": {"k": "v"}},
        ])  # fmt: skip

    run = await client.invoke("sender", None)
    await drive(client, run.id)
    done = await client.get_run(run.id)
    first, second = done.output
    assert (first["id"], first["name"], first["payload"]) == (f"{run.id}:both:0", "a", {"n": 1})
    assert (second["id"], second["name"], second["context"]) == ("ev-b", "b", {"k": "v"})
    (task,) = done.tasks
    assert (task.key, task.status) == ("both", TaskStatus.COMPLETED)
    await drive(client, second["run_ids"][0])
    assert (await client.get_run(second["run_ids"][0])).output["context"] == {"k": "v"}


async def test_io_get_event_returns_the_event_with_its_runs(store: Any) -> None:
    client = make_client(store)
    define_receiver(client)
    event = await client.send_event("order.paid", {"n": 4}, id="ev-4", context={"c": 1})

    @client.define_job(id="reader", trigger=invoke_trigger())
    async def reader(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.get_event("read", "ev-4")

    run = await client.invoke("reader", None)
    await drive(client, run.id)
    got = (await client.get_run(run.id)).output
    assert (got["id"], got["name"], got["payload"], got["context"]) == (
        "ev-4", "order.paid", {"n": 4}, {"c": 1},
    )  # fmt: skip
    assert got["status"] == "delivered" and got["timestamp"]
    assert got["runs"] == [
        {"id": event.run_ids[0], "status": "PENDING", "started_at": None, "completed_at": None}
    ]


async def test_io_get_event_of_an_unknown_id_fails_the_task(store: Any) -> None:
    client = make_client(store)

    @client.define_job(id="reader", trigger=invoke_trigger())
    async def reader(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.get_event("read", "nope")

    run = await client.invoke("reader", None)
    await drive(client, run.id)
    failed = await client.get_run(run.id)
    assert failed.status is RunStatus.FAILED
    assert failed.error["type"] == "EventNotFound" and "nope" in failed.error["message"]


async def test_io_cancel_event_stops_a_delayed_event_from_being_delivered(store: Any) -> None:
    client = make_client(store)
    define_receiver(client)

    @client.define_job(id="sender", trigger=invoke_trigger())
    async def sender(payload: Any, io: IO, ctx: Context) -> Any:
        sent = await io.send_event("remind", "order.paid", {"n": 5}, id="ev-5",
                                   deliver_after=3600)  # fmt: skip
        return await io.cancel_event("cancel", sent["id"])

    run = await client.invoke("sender", None)
    await drive(client, run.id)
    canceled = (await client.get_run(run.id)).output
    assert (canceled["id"], canceled["status"]) == ("ev-5", "canceled")
    client.clock.advance(3601)
    await client.tick()
    assert (await client.list_runs(job_id="on-order.paid")).runs == []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda io: io.send_event("k", "e", context=["not", "a", "dict"]), "context must be a dict"),
        (lambda io: io.send_event("k", "e", context={"x": "y" * 40_000}), "the limit is 32768"),
        (lambda io: io.send_event("k", "e", deliver_at=1, deliver_after=1), "not both"),
        (lambda io: io.send_events("k", [{"name": "e"}, {"payload": 1}]), "events[1] needs a name"),
        (lambda io: io.send_events("k", [{"name": "e", "when": 1}]), "unknown keys ['when']"),
        (lambda io: io.send_events("k", {"name": "e"}), "events must be a list of dicts"),
        (lambda io: io.get_event("k", ""), "id must be a non-empty str"),
    ],
)
async def test_bad_event_calls_raise_config_error_before_anything_is_recorded(
    sqlite_or_moto_store: Any, call: Any, message: str
) -> None:
    client = make_client(sqlite_or_moto_store)

    @client.define_job(id="bad", trigger=invoke_trigger())
    async def bad(payload: Any, io: IO, ctx: Context) -> Any:
        try:
            await call(io)
        except ConfigError as exc:
            return str(exc)
        return None

    run = await client.invoke("bad", None)
    await drive(client, run.id)
    done = await client.get_run(run.id)
    assert message in done.output
    assert done.tasks == []


async def test_cancel_runs_for_event_cancels_only_its_unfinished_runs(store: Any) -> None:
    client = make_client(store)
    define_receiver(client)

    @client.define_job(id="slow", trigger=event_trigger("order.paid"))
    async def slow(payload: Any, io: IO, ctx: Context) -> Any:
        await io.wait("long", seconds=3600)

    event = await client.send_event("order.paid", {"n": 6}, id="ev-6")
    by_job = {(await client.get_run(r, tasks=False)).job_id: r for r in event.run_ids}
    await drive(client, by_job["on-order.paid"])  # finished: left alone
    await client.execute(by_job["slow"])  # WAITING

    assert await client.cancel_runs_for_event("ev-6") == [by_job["slow"]]
    assert (await client.get_run(by_job["slow"], tasks=False)).status is RunStatus.CANCELED
    assert (await client.get_run(by_job["on-order.paid"], tasks=False)).status is (
        RunStatus.COMPLETED
    )
    assert await client.cancel_runs_for_event("ev-6") == []  # nothing left to cancel
    with pytest.raises(EventNotFound):
        await client.cancel_runs_for_event("no-such-event")


async def test_get_run_statuses_returns_the_run_and_its_statuses(store: Any) -> None:
    client = make_client(store)

    @client.define_job(id="job", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        status = await io.create_status("progress", label="Working", state="loading")
        await status.update("done", label="Done", state="success", data={"rows": 3})
        return {"rows": 3}

    run = await client.invoke("job", None)
    await drive(client, run.id)
    got = await client.get_run_statuses(run.id)
    assert got["run"] == {"id": run.id, "status": "COMPLETED", "output": {"rows": 3}}
    (status,) = got["statuses"]
    assert (status["key"], status["label"], status["state"], status["data"]) == (
        "progress", "Done", "success", {"rows": 3},
    )  # fmt: skip
    assert [v["label"] for v in status["history"]] == ["Working"]  # the earlier values
    with pytest.raises(RunNotFound):
        await client.get_run_statuses("run_missing")
