"""The plug-in surface new io primitives are built on (core/io/records.py, Invocation).

A primitive here is a few lines over `io._invocation`, as a module of core/io/ would be.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

from support.jobs import make_client
from triggerfish.core import IO, Context, RunStatus, TaskStatus, invoke_trigger
from triggerfish.core.fetch import wake
from triggerfish.core.io.records import recorded_value, wait_for_wake
from triggerfish.core.testing import drive


async def value_once(io: IO, key: str, make: Any) -> Any:
    inv = io._invocation
    async with inv.io_call():
        return await recorded_value(inv, inv.claim(key), make, kind="value")


async def wait_until_woken(io: IO, key: str) -> Any:
    inv = io._invocation
    async with inv.io_call():
        record = await wait_for_wake(inv, inv.claim(key), kind="signal", resume_at=None)
        return inv.replay(key, record)


async def test_a_recorded_value_is_made_once_and_replayed_after_a_wait(store: Any) -> None:
    client = make_client(store)
    numbers = itertools.count(7)

    @client.define_job(id="value", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> list[int]:
        first = await value_once(io, "n", lambda: next(numbers))
        await io.wait("nap", seconds=60)
        return [first, await value_once(io, "m", lambda: next(numbers))]

    run = await client.invoke("value", None)
    report = await drive(client, run.id)

    assert report.status is RunStatus.COMPLETED
    assert len(report.invocations) == 2
    finished = await client.get_run(run.id)
    assert finished.output == [7, 8]
    assert [t.key for t in finished.tasks] == ["n", "nap", "m"]


async def test_a_wakeable_wait_holds_the_run_until_another_writer_records_it(store: Any) -> None:
    client = make_client(store)

    @client.define_job(id="signal", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        return await wait_until_woken(io, "go")

    run = await client.invoke("signal", None)
    waiting = await client.execute(run.id)
    assert waiting.status is RunStatus.WAITING
    assert waiting.resume_at is None
    assert (await client.execute(run.id)).status is RunStatus.WAITING

    history = client.store.load_history(run.id)
    (record,) = history.tasks.values()
    assert record.kind == "signal" and record.status is TaskStatus.WAITING
    done = replace(record, status=TaskStatus.COMPLETED, output_json='{"ok": true}',
                   completed_at=client.clock.time())  # fmt: skip
    assert client.store.put_task(done)
    await wake(client.runtime, run.id, client.clock.time())

    finished = await client.execute(run.id)
    assert finished.status is RunStatus.COMPLETED
    assert (await client.get_run(run.id)).output == {"ok": True}
