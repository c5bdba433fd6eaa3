"""io.parallel: items as subtasks of one parent, in item order, bounded, resumable (every store)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from support.jobs import make_client
from triggerfish.core import IO, Context, RunStatus, TaskStatus, invoke_trigger
from triggerfish.core.testing import drive


async def test_outputs_come_in_item_order_whatever_order_items_finish(store: Any) -> None:
    client = make_client(store)
    calls: Counter[int] = Counter()

    async def slow_first(n: int) -> int:
        calls[n] += 1
        await asyncio.sleep(0.05 * (4 - n))
        return n * 10

    @client.define_job(id="par", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        out = await io.parallel("fan", [0, 1, 2, 3], slow_first)
        await io.wait("nap", seconds=60)
        return out

    run = await client.invoke("par", None)
    report = await drive(client, run.id)

    assert report.status is RunStatus.COMPLETED
    assert calls == Counter({0: 1, 1: 1, 2: 1, 3: 1})
    finished = await client.get_run(run.id)
    assert finished.output == [0, 10, 20, 30]
    (fan, _nap) = finished.tasks
    assert fan.key == "fan" and fan.status is TaskStatus.COMPLETED and fan.output == [0, 10, 20, 30]
    assert sorted(c.key for c in fan.children) == ["0", "1", "2", "3"]


async def test_max_concurrency_bounds_items_in_flight_and_sync_fns_work(store: Any) -> None:
    client = make_client(store)
    in_flight = 0
    most = 0

    async def tracked(n: int) -> int:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        return n

    @client.define_job(id="bounded", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        a = await io.parallel("a", range(6), tracked, max_concurrency=2)
        b = await io.parallel("b", ["x", "y"], str.upper)
        return [a, b]

    run = await client.invoke("bounded", None)
    await drive(client, run.id)
    finished = await client.get_run(run.id)
    assert finished.output == [[0, 1, 2, 3, 4, 5], ["X", "Y"]]
    assert most == 2


async def test_items_may_run_their_own_tasks_as_subtasks(store: Any) -> None:
    client = make_client(store)

    @client.define_job(id="nested", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        async def item(n: int) -> int:
            doubled: int = await io.run_task("double", lambda: n * 2)
            return doubled + 1

        return await io.parallel("fan", [1, 2], item)

    run = await client.invoke("nested", None)
    await drive(client, run.id)
    finished = await client.get_run(run.id)
    assert finished.output == [3, 5]
    (fan,) = finished.tasks
    assert [[g.key for g in c.children] for c in fan.children] == [["double"], ["double"]]


async def test_a_failing_item_fails_the_parent_naming_its_key_after_the_others_settle(
    store: Any,
) -> None:
    client = make_client(store)
    finished_items: list[int] = []

    async def item(n: int) -> int:
        if n == 1:
            raise ValueError("item one broke")
        await asyncio.sleep(0.05)
        finished_items.append(n)
        return n

    @client.define_job(id="fails", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.parallel("fan", [0, 1, 2], item)

    run = await client.invoke("fails", None)
    await drive(client, run.id)
    failed = await client.get_run(run.id)
    assert failed.status is RunStatus.FAILED
    assert failed.error["task"] == "fan"
    assert "item '1' failed" in failed.error["message"]
    assert "item one broke" in failed.error["message"]
    assert sorted(finished_items) == [0, 2]
    (fan,) = failed.tasks
    statuses = {c.key: c.status for c in fan.children}
    assert statuses == {"0": TaskStatus.COMPLETED, "1": TaskStatus.ERRORED,
                        "2": TaskStatus.COMPLETED}  # fmt: skip


async def test_items_past_the_yield_margin_wait_for_the_next_invocation(store: Any) -> None:
    client = make_client(store, yield_margin=0.05)
    calls: Counter[int] = Counter()

    async def item(n: int) -> int:
        calls[n] += 1
        await asyncio.sleep(0.1)
        return n

    @client.define_job(id="long", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.parallel("fan", list(range(8)), item, max_concurrency=2)

    run = await client.invoke("long", None)
    report = await drive(client, run.id, budget_seconds=0.45)

    assert report.status is RunStatus.COMPLETED
    assert report.yields >= 1
    assert calls == Counter({n: 1 for n in range(8)})
    assert (await client.get_run(run.id)).output == list(range(8))


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
async def test_max_concurrency_must_be_a_positive_integer(bad: Any, tmp_path: Any) -> None:
    from triggerfish.core import SQLiteStore

    client = make_client(SQLiteStore(tmp_path / "p.db"))

    @client.define_job(id="bad", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.parallel("fan", [1], lambda n: n, max_concurrency=bad)

    run = await client.invoke("bad", None)
    await drive(client, run.id)
    failed = await client.get_run(run.id)
    assert failed.status is RunStatus.FAILED
    assert "max_concurrency must be an integer of at least 1" in failed.error["message"]
    assert failed.tasks == []
