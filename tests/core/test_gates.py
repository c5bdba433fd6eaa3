"""Before a run starts: QUEUED behind a concurrency limit, waiting on or failing auth."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from support.jobs import make_client
from triggerfish.core import IO, Context, RunStatus, invoke_trigger
from triggerfish.core.testing import drive


async def test_runs_beyond_the_concurrency_limit_are_queued_until_a_slot_frees(
    store: Any,
) -> None:
    client = make_client(store, yield_margin=10)

    @client.define_job(id="one-at-a-time", trigger=invoke_trigger(), concurrency_limit=1)
    async def job(payload: Any, io: IO, ctx: Context) -> int:
        await io.run_task("hold", lambda: None)
        return int(payload["n"])

    first = await client.invoke("one-at-a-time", {"n": 1})
    second = await client.invoke("one-at-a-time", {"n": 2})
    # A yield keeps the slot (a wait would free it): deadline inside the yield margin.
    yielded = await client.execute(first.id, deadline=client.clock.time() + 1)
    assert yielded.status is RunStatus.EXECUTING
    queued = await client.execute(second.id)
    assert queued.status is RunStatus.QUEUED
    assert queued.resume_at is None  # not polled: woken when the slot frees

    await drive(client, first.id)
    report = await drive(client, second.id)

    assert report.status is RunStatus.COMPLETED
    assert (await client.get_run(second.id)).output == 2


async def test_a_canceled_holder_does_not_keep_its_slot(store: Any) -> None:
    client = make_client(store, yield_margin=10)

    @client.define_job(id="single", trigger=invoke_trigger(), concurrency_limit=1)
    async def job(payload: Any, io: IO, ctx: Context) -> str:
        await io.run_task("hold", lambda: None)
        return "ran"

    holder = await client.invoke("single", None)
    waiting = await client.invoke("single", None)
    await client.execute(holder.id, deadline=client.clock.time() + 1)  # yields, holding
    await client.cancel_run(holder.id)

    assert (await drive(client, waiting.id)).status is RunStatus.COMPLETED


class Repo:
    def __init__(self, token: str | None = None) -> None:
        self.token = token

    def with_auth(self, token: str) -> Repo:
        return Repo(token)


async def test_a_resolver_answering_none_ends_the_run_unresolved_auth(store: Any) -> None:
    client = make_client(store, auth_resolvers={"github": lambda ctx, integration: None})
    calls: list[str] = []

    @client.define_job(id="gh", trigger=invoke_trigger(), integrations={"github": Repo()})
    async def job(payload: Any, io: IO, ctx: Context) -> None:
        calls.append("ran")

    run = await client.invoke("gh", None)
    outcome = await client.execute(run.id)

    assert (outcome.status, outcome.resume_at) == (RunStatus.UNRESOLVED_AUTH, None)
    error = (await client.get_run(run.id)).error
    assert error is not None and error["type"] == "UnresolvedAuth"
    assert "'github'" in error["message"] and "None" in error["message"]
    assert calls == []


async def test_a_resolver_gives_the_credentials_to_with_auth_and_io_auth(store: Any) -> None:
    client = make_client(store, auth_resolvers={"github": lambda ctx, integration: "t0k3n"})

    @client.define_job(id="gh", trigger=invoke_trigger(), integrations={"github": Repo()})
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        return [io.integrations["github"].client.token, io.auth["github"]]

    run = await client.invoke("gh", None)
    await drive(client, run.id)

    assert (await client.get_run(run.id)).output == ["t0k3n", "t0k3n"]


async def test_a_failing_resolver_ends_the_run_unresolved_auth(store: Any) -> None:
    async def broken(ctx: Context, integration: Any) -> str:
        raise PermissionError("token revoked")

    client = make_client(store, auth_resolvers={"github": broken})
    calls: list[str] = []

    @client.define_job(id="gh", trigger=invoke_trigger(), integrations={"github": Repo()})
    async def job(payload: Any, io: IO, ctx: Context) -> None:
        calls.append("ran")

    run = await client.invoke("gh", None)
    report = await drive(client, run.id)

    assert report.status is RunStatus.UNRESOLVED_AUTH
    error = (await client.get_run(run.id)).error
    assert error is not None and "'github'" in error["message"] and "revoked" in error["message"]
    assert calls == []


async def test_ctx_is_the_validated_frozen_context_of_the_run(store: Any) -> None:
    client = make_client(store, yield_margin=10)
    client.organization = "acme"
    seen: list[Context] = []

    @client.define_job(id="ctx", trigger=invoke_trigger(), version="2.1")
    async def job(payload: Any, io: IO, ctx: Context) -> None:
        seen.append(ctx)

    run = await client.invoke("ctx", None)
    await drive(client, run.id)
    ctx = seen[0]
    validated = Context.model_validate(ctx.model_dump())

    assert ctx == validated
    assert ctx.model_dump_json() == validated.model_dump_json()
    assert repr(ctx) == repr(validated)
    assert ctx.event.model_fields_set == {"id", "name", "timestamp"}  # context left unset
    assert (ctx.run.id, ctx.run.attempt, ctx.run.invocation, ctx.run.is_retry) == (run.id, 1, 1, False)
    assert (ctx.job.id, ctx.job.version, ctx.organization) == ("ctx", "2.1", "acme")
    with pytest.raises(ValidationError):
        ctx.run.id = "other"  # type: ignore[misc]  # frozen, as before

