"""The replay check (`triggerfish.core.testing.replay`): recorded runs against changed code."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from support.jobs import make_client
from triggerfish.core import IO, Client, Context, RunStatus, invoke_trigger
from triggerfish.core.testing import drive, replay

Body = Callable[[IO], Awaitable[Any]]


def define(client: Client, body: Body) -> None:
    """(Re)defines job "flow" with `body`: what a deploy of new code does."""
    client.jobs.pop("flow", None)

    @client.define_job(id="flow", trigger=invoke_trigger())
    async def flow(payload: Any, io: IO, ctx: Context) -> Any:
        return await body(io)


def task(value: Any) -> Callable[[], Any]:
    return lambda: value


async def original(io: IO) -> Any:
    a = await io.run_task("a", task(1))
    await io.wait("nap", seconds=60)
    b = await io.run_task("b", task(2))
    return a + b


async def recorded_run(client: Client, *, finish: bool = True) -> str:
    define(client, original)
    run = await client.invoke("flow", None)
    if finish:
        report = await drive(client, run.id)
        assert report.status is RunStatus.COMPLETED
    else:
        outcome = await client.execute(run.id)
        assert outcome.status is RunStatus.WAITING
    return run.id


def never(*_: Any) -> Any:
    raise AssertionError("the replay sandbox executed a task")


async def test_an_unchanged_job_is_compatible_and_nothing_is_executed_or_written(
    store: Any,
) -> None:
    client = make_client(store)
    run_id = await recorded_run(client)
    before = (await client.get_run(run_id)).model_dump()

    async def same(io: IO) -> Any:
        a = await io.run_task("a", never)
        await io.wait("nap", seconds=60)
        io.logger.info("replayed")
        return a + await io.run_task("b", never)

    define(client, same)
    report = await replay(client, run_id)

    assert report.compatible, report.divergence
    assert report.divergence is None
    assert report.replayed == 3 and report.recorded == 3
    assert report.status == "COMPLETED"
    assert (await client.get_run(run_id)).model_dump() == before


async def test_new_keys_after_the_recorded_end_are_a_safe_extension(store: Any) -> None:
    client = make_client(store)
    finished = await recorded_run(client)
    waiting = await recorded_run(client, finish=False)

    async def extended(io: IO) -> Any:
        a = await io.run_task("a", never)
        await io.wait("nap", seconds=60)
        b = await io.run_task("b", never)
        await io.wait("later", seconds=5)
        return a + b + await io.run_task("c", never)

    define(client, extended)
    for run_id in (finished, waiting):
        report = await replay(client, run_id)
        assert report.compatible, report.divergence
    assert (await replay(client, finished)).extended
    assert (await replay(client, finished)).stopped_at == "later"
    assert (await replay(client, waiting)).stopped_at == "nap"
    assert (await client.get_run(waiting)).status is RunStatus.WAITING


async def test_a_removed_task_is_a_missing_key(store: Any) -> None:
    client = make_client(store)
    run_id = await recorded_run(client)

    async def without_a(io: IO) -> Any:
        await io.wait("nap", seconds=60)
        return await io.run_task("b", never)

    define(client, without_a)
    report = await replay(client, run_id)

    assert not report.compatible
    assert report.reason == "missing_key" and report.key == "a"
    assert report.divergence is not None and "'a'" in report.divergence


async def test_a_removed_last_task_is_a_missing_key(store: Any) -> None:
    client = make_client(store)
    run_id = await recorded_run(client)

    async def shorter(io: IO) -> Any:
        a = await io.run_task("a", never)
        await io.wait("nap", seconds=60)
        return a

    define(client, shorter)
    report = await replay(client, run_id)

    assert (report.compatible, report.reason, report.key) == (False, "missing_key", "b")


async def test_a_new_key_before_the_recorded_end_diverges(store: Any) -> None:
    client = make_client(store)
    finished = await recorded_run(client)
    waiting = await recorded_run(client, finish=False)

    async def inserted(io: IO) -> Any:
        await io.run_task("setup", never)
        a = await io.run_task("a", never)
        await io.wait("nap", seconds=60)
        return a + await io.run_task("b", never)

    define(client, inserted)
    for run_id in (finished, waiting):
        report = await replay(client, run_id)
        assert (report.compatible, report.reason, report.key) == (False, "new_key", "setup")
        assert report.divergence is not None and "'setup'" in report.divergence
        assert "'a'" in report.divergence


async def test_a_renamed_key_diverges_at_the_new_name(store: Any) -> None:
    client = make_client(store)
    run_id = await recorded_run(client)

    async def renamed(io: IO) -> Any:
        a = await io.run_task("a", never)
        await io.wait("sleep", seconds=60)
        return a + await io.run_task("b", never)

    define(client, renamed)
    report = await replay(client, run_id)

    assert (report.compatible, report.reason, report.key) == (False, "new_key", "sleep")
    assert "'nap'" in (report.divergence or "")


async def test_a_changed_kind_diverges(store: Any) -> None:
    client = make_client(store)
    run_id = await recorded_run(client)

    async def wait_instead(io: IO) -> Any:
        a = await io.run_task("a", never)
        await io.run_task("nap", never)  # was a wait
        return a + await io.run_task("b", never)

    define(client, wait_instead)
    report = await replay(client, run_id)

    assert (report.compatible, report.reason, report.key) == (False, "changed_kind", "nap")
    assert "'wait'" in (report.divergence or "") and "'task'" in (report.divergence or "")


async def test_waits_in_another_order_diverge(store: Any) -> None:
    client = make_client(store)

    async def two_waits(io: IO) -> Any:
        await io.wait("first", seconds=10)
        await io.wait("second", seconds=10)
        return "done"

    define(client, two_waits)
    run = await client.invoke("flow", None)
    assert (await drive(client, run.id)).status is RunStatus.COMPLETED

    async def swapped(io: IO) -> Any:
        await io.wait("second", seconds=10)
        await io.wait("first", seconds=10)
        return "done"

    define(client, swapped)
    report = await replay(client, run.id)

    assert (report.compatible, report.reason, report.key) == (False, "wait_order", "first")


async def test_a_failed_run_replays_its_failure(store: Any) -> None:
    client = make_client(store)

    def boom() -> None:
        raise ValueError("no")

    async def failing(io: IO) -> Any:
        await io.run_task("a", boom)

    define(client, failing)
    run = await client.invoke("flow", None)
    assert (await drive(client, run.id)).status is RunStatus.FAILED

    async def same(io: IO) -> Any:
        await io.run_task("a", never)

    define(client, same)
    report = await replay(client, run.id)
    assert report.compatible, report.divergence
    assert report.status == "FAILED"


async def test_a_job_missing_from_the_code_diverges(store: Any) -> None:
    client = make_client(store)
    run_id = await recorded_run(client)
    client.jobs.pop("flow")

    report = await replay(client, run_id)

    assert (report.compatible, report.reason) == (False, "job_missing")
    assert "'flow'" in (report.divergence or "")


@pytest.mark.parametrize("store_kind", ["sqlite"], indirect=True)
async def test_a_new_call_in_a_parallel_branch_before_the_end_diverges(store: Any) -> None:
    import asyncio

    client = make_client(store)

    async def parallel(io: IO) -> Any:
        return await asyncio.gather(io.run_task("x", task(1)), io.run_task("y", task(2)))

    define(client, parallel)
    run = await client.invoke("flow", None)
    assert (await drive(client, run.id)).status is RunStatus.COMPLETED

    async def one_more(io: IO) -> Any:
        return await asyncio.gather(io.run_task("x", never), io.run_task("z", never),
                                    io.run_task("y", never))

    define(client, one_more)
    report = await replay(client, run.id)
    assert (report.compatible, report.reason, report.key) == (False, "new_key", "z")


@pytest.mark.parametrize("store_kind", ["sqlite"], indirect=True)
async def test_values_and_waits_of_other_primitives_replay_and_their_kinds_are_checked(
    store: Any,
) -> None:
    client = make_client(store)

    async def values(io: IO) -> Any:
        n = await io.random("n")
        when = await io.now("when")
        await io.wait("nap", seconds=5)
        return [n, str(when)]

    define(client, values)
    run = await client.invoke("flow", None)
    assert (await drive(client, run.id)).status is RunStatus.COMPLETED
    before = (await client.get_run(run.id)).output

    report = await replay(client, run.id)
    assert report.compatible, report.divergence
    assert report.replayed == 3

    async def swapped_kind(io: IO) -> Any:
        await io.now("n")  # was io.random
        return None

    define(client, swapped_kind)
    report = await replay(client, run.id)
    assert (report.compatible, report.reason, report.key) == (False, "changed_kind", "n")
    assert (await client.get_run(run.id)).output == before


async def test_the_sandbox_never_calls_a_new_task_s_fn(store: Any) -> None:
    client = make_client(store)
    finished = await recorded_run(client)
    called: list[str] = []

    async def added_async() -> int:
        called.append("async")
        return 3

    async def extended(io: IO) -> Any:
        a = await io.run_task("a", never)
        await io.wait("nap", seconds=60)
        b = await io.run_task("b", never)
        c = await io.run_task("c", lambda: called.append("sync lambda") or 3)
        return a + b + c + await io.run_task("d", added_async)

    async def inserted(io: IO) -> Any:
        await io.run_task("setup", added_async)
        return await original(io)

    for body in (extended, inserted):
        define(client, body)
        report = await replay(client, finished)
        assert report.reason in (None, "new_key"), report.divergence
    assert called == []  # a dry run: new work is where it stops, never what it runs
