"""on_success / on_failure: called once per run with the Run, even across a crash (every store)."""

from __future__ import annotations

from typing import Any

import pytest
from support.jobs import make_client
from triggerfish.core import IO, ConfigError, Context, RunStatus, invoke_trigger
from triggerfish.core.testing import drive


async def test_on_success_and_on_failure_get_the_finished_run_once(store: Any) -> None:
    client = make_client(store)
    seen: list[tuple[str, str, Any]] = []

    def succeeded(run: Any) -> None:
        seen.append(("success", run.status.value, run.output))

    async def failed(run: Any) -> None:
        seen.append(("failure", run.status.value, run.error["message"]))

    @client.define_job(id="hooked", trigger=invoke_trigger(), on_success=succeeded,
                       on_failure=failed)  # fmt: skip
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        await io.wait("nap", seconds=30)
        if payload == "boom":
            raise ValueError("boom")
        return "fine"

    ok = await client.invoke("hooked", "ok")
    bad = await client.invoke("hooked", "boom")
    await drive(client, ok.id)
    await drive(client, bad.id)
    for run_id in (ok.id, bad.id):  # a duplicate delivery of the finished run calls nothing
        await client.execute(run_id)
    assert seen == [("success", "COMPLETED", "fine"), ("failure", "FAILED", "boom")]
    client.clock.advance(3600)
    assert await client.tick() == []  # nothing left due


async def test_a_canceled_run_calls_neither_hook(store: Any) -> None:
    client = make_client(store)
    calls: list[Any] = []

    @client.define_job(id="hooked", trigger=invoke_trigger(), on_success=calls.append,
                       on_failure=calls.append)  # fmt: skip
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        await io.wait("nap", seconds=30)

    run = await client.invoke("hooked", None)
    await client.execute(run.id)
    await client.cancel_run(run.id)
    client.clock.advance(3600)
    await client.tick()
    assert calls == []


async def test_a_crash_after_the_end_write_leaves_the_hook_to_the_sweeper(
    store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from triggerfish.core import ends

    client = make_client(store)
    calls: list[str] = []

    @client.define_job(id="hooked", trigger=invoke_trigger(),
                       on_success=lambda run: calls.append(run.id))  # fmt: skip
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        return 1

    real = ends.run_ended

    async def crash(runtime: Any, run: Any) -> None:
        return None  # the process died right after the end write

    monkeypatch.setattr(ends, "run_ended", crash)
    run = await client.invoke("hooked", None)
    assert (await client.execute(run.id)).status is RunStatus.COMPLETED
    assert calls == []
    monkeypatch.setattr(ends, "run_ended", real)

    assert await client.tick() == []  # not due before the grace period
    client.clock.advance(ends.HOOK_GRACE_SECONDS + 1)
    assert await client.tick() == [run.id]
    assert (await client.execute(run.id)).status is RunStatus.COMPLETED
    assert calls == [run.id]
    await client.execute(run.id)
    client.clock.advance(3600)
    assert await client.tick() == []
    assert calls == [run.id]


async def test_a_hook_that_raises_is_logged_on_the_run_and_leaves_its_status(store: Any) -> None:
    client = make_client(store)

    def broken(run: Any) -> None:
        raise RuntimeError("pager is down")

    @client.define_job(id="hooked", trigger=invoke_trigger(), on_failure=broken)
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        raise ValueError("the job failed")

    run = await client.invoke("hooked", None)
    await drive(client, run.id)
    finished = await client.get_run(run.id)
    assert finished.status is RunStatus.FAILED
    assert finished.error["message"] == "the job failed"
    (line,) = finished.logs
    assert line.level == "error"
    assert "on_failure hook raised RuntimeError: pager is down" in line.message


async def test_a_hook_must_be_callable(tmp_path: Any) -> None:
    from triggerfish.core import SQLiteStore

    client = make_client(SQLiteStore(tmp_path / "h.db"))
    with pytest.raises(ConfigError, match="on_success must be callable"):
        client.define_job(id="x", trigger=invoke_trigger(), on_success="nope", run=None)
