"""io.run_task(at_most_once=True): a start record first; an attempt cut short is never run again blindly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from support.jobs import make_client
from triggerfish.core import (
    IO,
    Client,
    Context,
    RetryPolicy,
    RunStatus,
    SQLiteStore,
    TaskInterrupted,
    TaskStatus,
    invoke_trigger,
)
from triggerfish.core.testing import drive

WORKER = Path(__file__).with_name("at_most_once_worker.py")
LEASE_SKIP_SECONDS = 3600.0


def _two_clients(store: Any) -> tuple[Client, Client]:
    """Two processes' worth of clients on one store and one (fake) clock."""
    first = make_client(store)
    return first, make_client(store, clock=first.clock)


def _define(client: Client, fn: Any, retry: RetryPolicy | None) -> None:
    @client.define_job(id="pay", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.run_task("charge", fn, at_most_once=True, retry=retry)


async def test_the_start_record_is_written_before_fn_runs(store: Any) -> None:
    client = make_client(store)
    seen: list[Any] = []

    async def charge() -> str:
        (task,) = (await client.get_run(run.id)).tasks
        seen.append((task.key, task.status, task.attempts))
        return "charged"

    _define(client, charge, None)
    run = await client.invoke("pay", None)
    assert (await drive(client, run.id)).status is RunStatus.COMPLETED
    assert seen == [("charge", TaskStatus.RUNNING, 1)]
    (task,) = (await client.get_run(run.id)).tasks
    assert (task.status, task.output, task.attempts) == (TaskStatus.COMPLETED, "charged", 1)


async def test_an_attempt_whose_lease_expired_mid_task_fails_the_task_without_a_retry_policy(
    store: Any,
) -> None:
    first, second = _two_clients(store)
    calls: list[str] = []
    taken_over: list[RunStatus] = []

    async def charge() -> str:
        calls.append("charge")
        # This invocation is now too slow: its lease expires and another one takes the run.
        first.clock.advance(LEASE_SKIP_SECONDS)  # type: ignore[attr-defined]
        taken_over.append((await second.execute(run.id)).status)
        return "charged"

    _define(first, charge, None)
    _define(second, charge, None)
    run = await first.invoke("pay", None)
    await first.execute(run.id, deadline=first.clock.time() + 60)

    assert calls == ["charge"] and taken_over == [RunStatus.FAILED]
    failed = await second.get_run(run.id)
    assert failed.status is RunStatus.FAILED
    assert failed.error is not None
    assert (failed.error["type"], failed.error["task"]) == ("TaskInterrupted", "charge")
    (task,) = failed.tasks
    assert (task.status, task.attempts) == (TaskStatus.ERRORED, 1)
    assert task.error is not None and task.error["type"] == "TaskInterrupted"
    assert "not run again" in task.error["message"]


async def test_an_interrupted_attempt_that_then_finishes_keeps_its_output_and_runs_once(
    store: Any,
) -> None:
    first, second = _two_clients(store)
    calls: list[str] = []
    retry = RetryPolicy(limit=3, randomize=False)

    async def charge() -> str:
        calls.append("charge")
        if len(calls) == 1:
            first.clock.advance(LEASE_SKIP_SECONDS)  # type: ignore[attr-defined]
            assert (await second.execute(run.id)).status is RunStatus.WAITING
        return "charged"

    _define(first, charge, retry)
    _define(second, charge, retry)
    run = await first.invoke("pay", None)
    await first.execute(run.id, deadline=first.clock.time() + 60)
    report = await drive(second, run.id)

    assert report.status is RunStatus.COMPLETED
    assert calls == ["charge"]  # the late result won over the retry: no second charge
    done = await second.get_run(run.id)
    assert done.output == "charged"


async def test_interrupted_attempts_count_and_are_retried_only_when_retry_on_allows(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "runs.db")
    first, second = _two_clients(store)
    calls: list[str] = []

    async def charge() -> str:
        calls.append("charge")
        if len(calls) == 1:
            first.clock.advance(LEASE_SKIP_SECONDS)  # type: ignore[attr-defined]
            await drive(second, run.id)
        return "charged"

    only_timeouts = RetryPolicy(limit=3, retry_on=TimeoutError, randomize=False)
    _define(first, charge, only_timeouts)
    _define(second, charge, only_timeouts)
    run = await first.invoke("pay", None)
    await first.execute(run.id, deadline=first.clock.time() + 60)

    assert calls == ["charge"]
    failed = await second.get_run(run.id)
    assert failed.status is RunStatus.FAILED and failed.error["type"] == "TaskInterrupted"


async def test_a_parent_paused_by_its_subtask_wait_resumes_and_is_not_interrupted(
    tmp_path: Path,
) -> None:
    client = make_client(SQLiteStore(tmp_path / "runs.db"))
    charged: list[int] = []

    @client.define_job(id="parent", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        async def parent() -> str:
            await io.run_task("charge", lambda: charged.append(1) or "charged")
            await io.wait("settle", 30)
            return "shipped"

        return await io.run_task("order", parent, at_most_once=True)

    run = await client.invoke("parent", None)
    report = await drive(client, run.id)
    assert report.status is RunStatus.COMPLETED and report.suspensions == 1
    assert charged == [1]
    (order,) = (await client.get_run(run.id)).tasks
    assert (order.status, order.attempts, order.output) == (TaskStatus.COMPLETED, 1, "shipped")


def test_task_interrupted_is_an_exception_exported_from_core() -> None:
    error = TaskInterrupted("charge", 2)
    assert isinstance(error, Exception) and (error.key, error.attempt) == ("charge", 2)


def _worker(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args], stdout=subprocess.PIPE, text=True, env=env
    )


@pytest.fixture(params=["sqlite", "moto"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str, Any]:
    if request.param == "sqlite":
        path = str(tmp_path / "crash.db")
        return "sqlite", path, SQLiteStore(path)
    from support.aws import make_dynamodb_store

    store = make_dynamodb_store(request.getfixturevalue("moto_url"))
    return "dynamodb", f"{store._endpoint_url}|{store.table_name}", store


@pytest.mark.parametrize("retry", [False, True], ids=["no-retry", "retry-on-interrupted"])
def test_sigkill_mid_task_then_a_new_process_does_not_repeat_it_blindly(
    location: tuple[str, str, Any], retry: bool, tmp_path: Path
) -> None:
    kind, where, store = location
    effects = tmp_path / "effects.txt"
    effects.touch()
    creator = _worker(kind, where, "new:retry" if retry else "new", str(effects))
    run_id = creator.communicate(timeout=60)[0].strip()

    victim = _worker(kind, where, run_id, str(effects))
    deadline = time.monotonic() + 60
    while "charge" not in effects.read_text() and time.monotonic() < deadline:
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)

    rescuer = _worker(kind, where, run_id, str(effects), str(LEASE_SKIP_SECONDS))
    output = rescuer.communicate(timeout=120)[0]
    assert rescuer.returncode == 0
    run = store.get_run(run_id)
    (task,) = store.load_history(run_id).tasks.values()
    if retry:  # the policy retries TaskInterrupted: a second, deliberate attempt
        assert output.split()[-1] == "COMPLETED"
        assert effects.read_text().splitlines() == ["charge", "charge"]
        assert (task.status, task.attempts) == (TaskStatus.COMPLETED, 2)
    else:
        assert output.split()[-1] == "FAILED"
        assert effects.read_text().splitlines() == ["charge"]
        assert run.error["type"] == "TaskInterrupted"
        assert (task.status, task.attempts) == (TaskStatus.ERRORED, 1)
