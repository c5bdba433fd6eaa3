"""Rate limits (issue 19 item 2): at most `limit` starts in any sliding `period`, per key;
the rest wait QUEUED (reason "rate") and start in arrival order, each woken once by the
due index."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from support.flow import drain
from support.jobs import make_client
from triggerfish.core import IO, ConfigError, Context, RateLimit, RunStatus, invoke_trigger


def rate_limited(store: Any, starts: list[tuple[str, float]], rate: RateLimit) -> Any:
    client = make_client(store)

    @client.define_job(id="send-sms", trigger=invoke_trigger(), rate_limit=rate)
    async def job(payload: dict[str, Any], io: IO, ctx: Context) -> None:
        starts.append((payload["name"], client.clock.time()))

    return client


async def test_runs_beyond_the_rate_wait_queued_and_start_in_order_as_the_window_allows(
    store: Any,
) -> None:
    starts: list[tuple[str, float]] = []
    client = rate_limited(store, starts, RateLimit(limit=2, period=timedelta(minutes=1)))
    t0 = client.clock.time()
    runs = [await client.invoke("send-sms", {"name": f"sms-{n}"}) for n in range(5)]

    for run in runs:
        await client.execute(run.id)
    queued = [await client.get_run(run.id, tasks=False) for run in runs[2:]]
    assert [(r.status, r.queued_reason) for r in queued] == [(RunStatus.QUEUED, "rate")] * 3
    assert [r.resume_at.timestamp() - t0 for r in queued if r.resume_at] == pytest.approx(
        [60, 60, 120], abs=5)  # the clock skips waits; real time still passes between calls

    for _ in range(3):  # the due index wakes each queued run at its turn
        client.clock.advance(60)  # type: ignore[attr-defined]
        await drain(client)
    assert [name for name, _ in starts] == [f"sms-{n}" for n in range(5)]
    times = [at - t0 for _, at in starts]
    assert times == pytest.approx([0, 0, 60, 60, 120], abs=5)
    assert all(sum(1 for t in times if s <= t < s + 60) <= 2 for s in times)
    ends = [await client.get_run(run.id, tasks=False) for run in runs]
    assert {r.status for r in ends} == {RunStatus.COMPLETED}
    assert [r.invocation_count for r in ends] == [1, 1, 2, 2, 2]  # woken once, not polled


async def test_the_rate_applies_per_key(sqlite_or_moto_store: Any) -> None:
    starts: list[tuple[str, float]] = []
    rate = RateLimit(limit=1, period=3600, key=lambda payload: payload["tenant"])
    client = rate_limited(sqlite_or_moto_store, starts, rate)
    first = await client.invoke("send-sms", {"name": "a1", "tenant": "a"})
    second = await client.invoke("send-sms", {"name": "a2", "tenant": "a"})
    other = await client.invoke("send-sms", {"name": "b1", "tenant": "b"})

    assert (await client.execute(first.id)).status is RunStatus.COMPLETED
    assert (await client.execute(second.id)).status is RunStatus.QUEUED
    assert (await client.execute(other.id)).status is RunStatus.COMPLETED
    assert (await client.execute(second.id)).status is RunStatus.QUEUED  # early: same turn


def test_rate_limit_options_are_checked() -> None:
    with pytest.raises(ConfigError, match="RateLimit limit must be an integer from 1 to 1000"):
        RateLimit(limit=0, period=60)
    with pytest.raises(ConfigError, match="RateLimit period must be more than 0"):
        RateLimit(limit=1, period=0)
    with pytest.raises(ConfigError, match="RateLimit key must be a function"):
        RateLimit(limit=1, period=1, key="tenant")  # type: ignore[arg-type]
    assert RateLimit(limit=3, period=timedelta(hours=1)).period == 3600.0
