"""Shared concurrency limits (issue 16 item 9) and concurrency per key (issue 19 item 1):
slots several jobs share, one limit per tenant, fair between tenants."""

from __future__ import annotations

from typing import Any

import pytest
from support.flow import drain
from support.jobs import make_client
from triggerfish.core import IO, ConcurrencyLimit, ConfigError, Context, RunStatus, invoke_trigger


def holding_job(client: Any, job_id: str, outcomes: dict[str, RunStatus], **options: Any) -> None:
    """A job whose run, while it holds its slot, executes the runs named in its payload."""

    @client.define_job(id=job_id, trigger=invoke_trigger(), **options)
    async def job(payload: dict[str, Any], io: IO, ctx: Context) -> str:
        async def start_others() -> None:
            for run_id in payload.get("others", []):
                outcomes[run_id] = (await client.execute(run_id)).status

        await io.run_task("start others", start_others)
        return str(payload.get("tenant"))


async def test_jobs_defined_with_one_shared_limit_share_its_slots(store: Any) -> None:
    client = make_client(store)
    emails = client.define_concurrency_limit(id="emails", limit=1)
    outcomes: dict[str, RunStatus] = {}
    holding_job(client, "welcome", outcomes, concurrency_limit=emails)
    holding_job(client, "digest", outcomes, concurrency_limit=emails)
    holding_job(client, "unlimited", outcomes)
    digest = await client.invoke("digest", {})
    free = await client.invoke("unlimited", {})
    welcome = await client.invoke("welcome", {"others": [digest.id, free.id]})

    assert (await client.execute(welcome.id)).status is RunStatus.COMPLETED
    assert outcomes == {digest.id: RunStatus.QUEUED, free.id: RunStatus.COMPLETED}
    queued = await client.get_run(digest.id, tasks=False)
    assert (queued.status, queued.queued_reason) == (RunStatus.QUEUED, "concurrency")
    # welcome's end gave the shared slot back and woke digest: no polling, one invocation
    assert await drain(client) == [digest.id]
    done = await client.get_run(digest.id, tasks=False)
    assert (done.status, done.queued_reason, done.invocation_count) == (RunStatus.COMPLETED, None, 2)


def test_a_shared_limit_is_checked_and_defined_once() -> None:
    from triggerfish.core import SQLiteStore

    client = make_client(SQLiteStore(":memory:"))
    shared = client.define_concurrency_limit(id="api", limit=3)
    assert isinstance(shared, ConcurrencyLimit) and (shared.id, shared.limit) == ("api", 3)
    assert client.define_concurrency_limit(id="api", limit=3) is shared
    with pytest.raises(ConfigError, match="already defined with limit 3"):
        client.define_concurrency_limit(id="api", limit=4)
    with pytest.raises(ConfigError, match="limit must be an integer of at least 1, got 0"):
        client.define_concurrency_limit(id="zero", limit=0)
    with pytest.raises(ConfigError, match="concurrency_key needs a concurrency_limit"):
        client.define_job(id="keyed", trigger=invoke_trigger(), run=_noop,
                          concurrency_key=lambda payload: payload["tenant"])  # fmt: skip
    with pytest.raises(ConfigError, match="concurrency_key must be a function"):
        client.define_job(id="keyed", trigger=invoke_trigger(), run=_noop,
                          concurrency_limit=1, concurrency_key="tenant")  # fmt: skip
    assert client.define_job(id="j", trigger=invoke_trigger(), run=_noop,
                             concurrency_limit=shared).describe()["shared_concurrency_limit"] == "api"  # fmt: skip


async def _noop(payload: Any, io: IO, ctx: Context) -> None:
    return None


async def test_a_tenant_with_a_long_queue_does_not_delay_another_tenants_run(
    sqlite_or_moto_store: Any,
) -> None:
    client = make_client(sqlite_or_moto_store)
    outcomes: dict[str, RunStatus] = {}
    tenant = {"concurrency_limit": 1, "concurrency_key": lambda payload: payload["tenant"]}
    holding_job(client, "sync", outcomes, **tenant)
    busy = [await client.invoke("sync", {"tenant": "busy", "n": n}) for n in range(40)]
    quiet = await client.invoke("sync", {"tenant": "quiet"})
    holder = await client.invoke("sync", {"tenant": "busy",
                                          "others": [r.id for r in busy] + [quiet.id]})  # fmt: skip

    assert (await client.execute(holder.id)).status is RunStatus.COMPLETED
    # Invoked after 40 of busy's runs, while busy's one slot was held: quiet's run started
    # at once; every run of busy waited its turn.
    assert outcomes[quiet.id] is RunStatus.COMPLETED
    assert {outcomes[r.id] for r in busy} == {RunStatus.QUEUED}
    # The holder's end woke busy's oldest run only; each end wakes the next, oldest first.
    assert await drain(client) == [r.id for r in busy]
    ends = [(await client.get_run(r.id, tasks=False)).status for r in busy]
    assert set(ends) == {RunStatus.COMPLETED}


async def test_a_shared_limit_with_a_key_limits_each_tenant_across_jobs(store: Any) -> None:
    client = make_client(store)
    per_tenant = client.define_concurrency_limit(id="per-tenant", limit=1)
    outcomes: dict[str, RunStatus] = {}
    keyed = {"concurrency_limit": per_tenant, "concurrency_key": lambda p: p["tenant"]}
    holding_job(client, "import", outcomes, **keyed)
    holding_job(client, "export", outcomes, **keyed)
    same_tenant = await client.invoke("export", {"tenant": "acme"})
    other_tenant = await client.invoke("export", {"tenant": "globex"})
    holder = await client.invoke("import", {"tenant": "acme",
                                            "others": [same_tenant.id, other_tenant.id]})  # fmt: skip

    assert (await client.execute(holder.id)).status is RunStatus.COMPLETED
    assert outcomes == {same_tenant.id: RunStatus.QUEUED, other_tenant.id: RunStatus.COMPLETED}
    assert await drain(client) == [same_tenant.id]


async def test_a_concurrency_key_that_raises_fails_the_run_naming_it(store: Any) -> None:
    client = make_client(store)
    holding_job(client, "keyed", {}, concurrency_limit=1,
                concurrency_key=lambda payload: payload["tenant"])  # fmt: skip
    run = await client.invoke("keyed", {"no": "tenant"})

    assert (await client.execute(run.id)).status is RunStatus.FAILED
    error = (await client.get_run(run.id, tasks=False)).error or {}
    assert error["type"] == "FlowKeyError"
    assert "concurrency_key raised KeyError" in error["message"]
