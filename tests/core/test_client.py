"""The client's public methods: events, invocations, listing, cancelling, errors."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest
from support.jobs import make_client
from triggerfish.core import (
    IO,
    ConfigError,
    Context,
    JobNotFound,
    Outcome,
    PayloadTooLarge,
    RunNotFound,
    RunStatus,
    event_trigger,
    invoke_trigger,
)
from triggerfish.core.testing import drive


class Signup(pydantic.BaseModel):
    email: str
    plan: str = "free"


def define_signup_jobs(client: Any, started: list[Any]) -> None:
    @client.define_job(id="welcome", trigger=event_trigger("user.signup", schema=Signup))
    async def welcome(payload: Signup, io: IO, ctx: Context) -> str:
        started.append(payload)
        return payload.email

    @client.define_job(
        id="upsell", trigger=event_trigger("user.signup", filter={"plan": ["pro", "team"]})
    )
    async def upsell(payload: Any, io: IO, ctx: Context) -> None:
        started.append(payload)


async def test_send_event_starts_a_run_per_matching_job_and_is_idempotent_on_id(
    store: Any,
) -> None:
    client = make_client(store)
    started: list[Any] = []
    define_signup_jobs(client, started)

    event = await client.send_event("user.signup", {"email": "a@b.c", "plan": "pro"}, id="evt-1")
    again = await client.send_event("user.signup", {"email": "a@b.c", "plan": "pro"}, id="evt-1")

    assert again.run_ids == event.run_ids and len(event.run_ids) == 2
    assert len((await client.list_runs()).runs) == 2
    runs = [await client.get_run(run_id) for run_id in event.run_ids]
    assert {r.job_id for r in runs} == {"welcome", "upsell"}
    assert all(r.status is RunStatus.PENDING and r.event_id == "evt-1" for r in runs)


async def test_event_filter_skips_jobs_whose_filter_does_not_match(store: Any) -> None:
    client = make_client(store)
    define_signup_jobs(client, [])
    event = await client.send_event("user.signup", {"email": "a@b.c"})
    assert [(await client.get_run(r)).job_id for r in event.run_ids] == ["welcome"]


async def test_invalid_payload_creates_an_invalid_run_that_never_starts(store: Any) -> None:
    client = make_client(store)
    started: list[Any] = []
    define_signup_jobs(client, started)

    event = await client.send_event("user.signup", {"plan": "free"})
    (run_id,) = event.run_ids
    run = await client.get_run(run_id)

    assert run.status is RunStatus.INVALID_PAYLOAD
    assert run.error is not None
    assert run.error["issues"][0]["loc"] == ["email"]
    assert await client.execute(run_id) == Outcome(status=RunStatus.INVALID_PAYLOAD)
    assert started == []


async def test_invoke_validates_against_the_schema_too(store: Any) -> None:
    client = make_client(store)

    @client.define_job(id="signup", trigger=invoke_trigger(schema=Signup))
    async def job(payload: Signup, io: IO, ctx: Context) -> str:
        return payload.plan

    bad = await client.invoke("signup", {"email": 3})
    good = await client.invoke("signup", {"email": "x@y.z"})
    await drive(client, good.id)

    assert bad.status is RunStatus.INVALID_PAYLOAD
    assert (await client.get_run(good.id)).output == "free"


async def test_unknown_ids_raise_lookup_errors(store: Any) -> None:
    client = make_client(store)
    with pytest.raises(JobNotFound):
        await client.invoke("nope", {})
    with pytest.raises(RunNotFound) as caught:
        await client.get_run("run_missing")
    assert isinstance(caught.value, LookupError) and caught.value.run_id == "run_missing"
    with pytest.raises(RunNotFound):
        await client.execute("run_missing")
    with pytest.raises(RunNotFound):
        await client.cancel_run("run_missing")


async def test_list_runs_pages_newest_first_and_filters(store: Any) -> None:
    client = make_client(store)

    @client.define_job(id="a", trigger=invoke_trigger())
    async def a(payload: Any, io: IO, ctx: Context) -> None:
        return None

    @client.define_job(id="b", trigger=invoke_trigger())
    async def b(payload: Any, io: IO, ctx: Context) -> None:
        return None

    made = []
    for n in range(7):
        client.clock.advance(1)
        made.append(await client.invoke("a" if n % 2 == 0 else "b", {"n": n}))
    await drive(client, made[0].id)

    seen: list[str] = []
    cursor = None
    while True:
        page = await client.list_runs(limit=3, cursor=cursor)
        seen.extend(run.id for run in page.runs)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [run.id for run in reversed(made)]

    only_a = await client.list_runs(job_id="a")
    assert [r.payload["n"] for r in only_a.runs] == [6, 4, 2, 0]
    done = await client.list_runs(status="COMPLETED")
    assert [r.id for r in done.runs] == [made[0].id]
    pending_a = await client.list_runs(job_id="a", status=RunStatus.PENDING, limit=2)
    assert [r.payload["n"] for r in pending_a.runs] == [6, 4]
    assert pending_a.next_cursor is not None
    rest = await client.list_runs(job_id="a", status="PENDING", cursor=pending_a.next_cursor)
    assert [r.payload["n"] for r in rest.runs] == [2]


async def test_cancel_stops_a_waiting_run_and_no_task_runs_after(store: Any) -> None:
    client = make_client(store)
    calls: list[str] = []

    @client.define_job(id="slow", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> None:
        await io.wait("nap", seconds=60)
        await io.run_task("after", lambda: calls.append("after"))

    run = await client.invoke("slow", None)
    assert (await client.execute(run.id)).status is RunStatus.WAITING
    canceled = await client.cancel_run(run.id)
    client.clock.advance(120)

    assert canceled.status is RunStatus.CANCELED
    assert await client.execute(run.id) == Outcome(status=RunStatus.CANCELED)
    assert calls == []
    assert (await client.cancel_run(run.id)).status is RunStatus.CANCELED


async def test_bad_options_name_the_field_and_the_limit(store: Any) -> None:
    client = make_client(store)
    with pytest.raises(ConfigError, match="limit must be between 1 and 1000, got 0"):
        await client.list_runs(limit=0)
    with pytest.raises(ConfigError, match="status must be one of"):
        await client.list_runs(status="DONE")
    with pytest.raises(ConfigError, match="yield_margin must be 0 or more seconds, got -1"):
        make_client(store, yield_margin=-1)

    @client.define_job(id="big", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> None:
        return None

    with pytest.raises(PayloadTooLarge, match="limit is 262144 bytes"):
        await client.invoke("big", {"blob": "x" * 300_000})
    assert (await client.list_runs()).runs == []
    with pytest.raises(ConfigError, match="already defined"):
        client.define_job(id="big", trigger=invoke_trigger(), run=job.run)


async def test_a_job_defined_with_run_keyword(store: Any) -> None:
    client = make_client(store)

    async def double(payload: Any, io: IO, ctx: Context) -> int:
        return int(payload["n"]) * 2

    job = client.define_job(id="double", trigger=invoke_trigger(), run=double)
    run = await client.invoke(job.id, {"n": 21})
    await drive(client, run.id)
    assert (await client.get_run(run.id)).output == 42


async def test_yield_margin_default_fits_lambda_and_shrinks_for_short_budgets(store: Any) -> None:
    client = make_client(store)
    assert client.yield_margin_for(900) == 10.0
    assert client.yield_margin_for(3) == pytest.approx(0.6)
    assert make_client(store, yield_margin=2).yield_margin_for(3) == 2


async def test_a_canceled_run_shows_its_waiting_task_canceled(store: Any) -> None:
    from triggerfish.core import TaskStatus

    client = make_client(store)

    @client.define_job(id="napper", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> None:
        await io.wait("nap", seconds=60)

    run = await client.invoke("napper", None)
    await client.execute(run.id)
    canceled = await client.cancel_run(run.id)

    assert [(t.key, t.status) for t in canceled.tasks] == [("nap", TaskStatus.CANCELED)]
