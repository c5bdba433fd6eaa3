"""The replay guard: a recorded key called as another kind fails the run, whatever the job catches."""

from __future__ import annotations

from typing import Any

import pytest
from support.jobs import make_client
from triggerfish.core import (
    IO,
    Context,
    NonDeterminismError,
    RetryPolicy,
    RunStatus,
    SQLiteStore,
    TaskStatus,
    invoke_trigger,
)
from triggerfish.core.testing import drive


@pytest.fixture
def client(tmp_path: Any) -> Any:
    return make_client(SQLiteStore(tmp_path / "runs.db"))


async def test_a_divergence_caught_by_the_job_still_fails_the_run_and_runs_nothing_after(
    client: Any,
) -> None:
    version = {"n": 1}
    ran: list[str] = []

    @client.define_job(id="guarded", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        await io.run_task("charge", lambda: ran.append("charge") or "charged")
        if version["n"] == 1:
            await io.wait("cool-off", 60)
        else:
            try:  # the new code made the wait a task and swallows everything
                await io.run_task("cool-off", lambda: ran.append("cool-off"))
            except BaseException as exc:  # noqa: BLE001 - the point of the test
                ran.append(f"caught {type(exc).__name__}")
            await io.run_task("ship", lambda: ran.append("ship"))
        return "done"

    run = await client.invoke("guarded", None)
    first = await client.execute(run.id)
    assert first.status is RunStatus.WAITING
    version["n"] = 2
    client.clock.advance(120)
    report = await drive(client, run.id)

    assert report.status is RunStatus.FAILED
    assert ran == ["charge", "caught NonDeterminismError"]  # "ship" never ran
    failed = await client.get_run(run.id)
    assert failed.error is not None
    assert failed.error["type"] == "NonDeterminismError"
    assert failed.error["key"] == "cool-off"
    assert "recorded as a wait but is now called as a task" in failed.error["message"]
    assert {t.key: t.kind for t in failed.tasks} == {"charge": "task", "cool-off": "wait"}


async def test_a_subtask_whose_kind_changed_is_not_a_retried_task_failure(client: Any) -> None:
    version = {"n": 1}
    attempts: list[int] = []

    @client.define_job(id="nested", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        async def parent() -> str:
            attempts.append(1)
            if version["n"] == 1:
                await io.run_task("step", lambda: "stepped")
                await io.wait("pause", 30)
            else:
                await io.wait("step", 1)
            return "parent done"

        return await io.run_task("parent", parent, retry=RetryPolicy(limit=5, randomize=False))

    run = await client.invoke("nested", None)
    assert (await client.execute(run.id)).status is RunStatus.WAITING
    version["n"] = 2
    client.clock.advance(60)
    report = await drive(client, run.id)

    assert report.status is RunStatus.FAILED
    assert len(report.invocations) == 1  # failed at once: no retry of "parent"
    assert attempts == [1, 1]
    failed = await client.get_run(run.id)
    assert failed.error is not None and failed.error["key"] == "step"
    (parent,) = failed.tasks
    # not recorded as a failed attempt (a task left RUNNING shows CANCELED in a final run)
    assert parent.status is TaskStatus.CANCELED and parent.error is None


def test_the_error_names_the_key_and_both_kinds_and_is_not_an_exception() -> None:
    error = NonDeterminismError("b", "task", "wait")
    assert (error.key, error.recorded_kind, error.called_kind) == ("b", "task", "wait")
    assert "'b'" in str(error) and "task" in str(error) and "wait" in str(error)
    assert not isinstance(error, Exception)
