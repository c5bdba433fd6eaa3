"""io at the edges (issue 8, items 3-6, 10, 11): odd errors, odd log fields, odd times,
sync functions, the run's context. Each test failed before its fix.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from support.jobs import make_client
from triggerfish.core import (
    IO,
    ConfigError,
    Context,
    RetryPolicy,
    RunStatus,
    SQLiteStore,
    TaskStatus,
    event_trigger,
    interval_trigger,
    invoke_trigger,
)
from triggerfish.core.store.base import RunRecord, TaskRecord
from triggerfish.core.testing import drive


@pytest.fixture
def store(sqlite_or_moto_store: Any) -> Any:
    """SQLite and DynamoDB (moto server) only."""
    return sqlite_or_moto_store


async def _run(client: Any, job_id: str, payload: Any = None) -> Any:
    run = await client.invoke(job_id, payload)
    await drive(client, run.id)
    return await client.get_run(run.id)


# -- 4. errors of any shape end the run FAILED -----------------------------------------------


class StrRaises(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str for you")


class StrNotText(Exception):
    def __str__(self) -> Any:
        return 42  # noqa: PLE0307 - the hostile case under test


class NothingWorks(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no")

    def __repr__(self) -> str:
        raise RuntimeError("no")


class Huge(Exception):
    def __str__(self) -> str:
        return "x" * 2_000_000


class Surrogates(Exception):
    def __str__(self) -> str:
        return "bad \udcff text \x00 \u202e"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (StrRaises(), "StrRaises()"),
        (StrNotText(), "StrNotText()"),
        (NothingWorks(), "<NothingWorks>"),
        (Huge(), "more characters"),
        (Surrogates(), "bad \\udcff text"),
    ],
)
async def test_a_run_raising_an_error_of_any_shape_ends_failed(
    store: Any, error: Exception, expected: str
) -> None:
    client = make_client(store)

    @client.define_job(id="bad", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        raise error

    run = await _run(client, "bad")
    assert run.status is RunStatus.FAILED
    assert run.error["type"] == type(error).__name__
    assert expected in run.error["message"]
    assert len(run.error["message"]) < 10_000
    record = store.get_run(run.id)
    assert record.lease_owner is None


@pytest.mark.parametrize("error", [StrRaises(), NothingWorks(), Huge()])
async def test_a_task_raising_an_error_of_any_shape_is_retried_then_fails_the_run(
    store: Any, error: Exception
) -> None:
    client = make_client(store)
    calls: list[int] = []

    @client.define_job(id="bad", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        def fail() -> None:
            calls.append(1)
            raise error

        await io.run_task("fail", fail, retry=RetryPolicy(2, min_timeout=1, randomize=False))

    run = await _run(client, "bad")
    assert run.status is RunStatus.FAILED
    assert len(calls) == 2
    assert run.tasks[0].status is TaskStatus.ERRORED
    assert run.error["task"] == "fail"


@pytest.mark.parametrize("raised", [GeneratorExit, asyncio.CancelledError])
async def test_generator_exit_or_a_cancelled_error_from_user_code_fails_the_run(
    store: Any, raised: type[BaseException]
) -> None:
    client = make_client(store)

    @client.define_job(id="bad", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        await io.run_task("one", lambda: 1)
        raise raised()

    run = await _run(client, "bad")
    assert run.status is RunStatus.FAILED
    assert run.error["type"] == raised.__name__
    assert store.get_run(run.id).lease_owner is None


async def test_keyboard_interrupt_from_user_code_stops_the_process_and_the_run_resumes(
    store: Any,
) -> None:
    client = make_client(store)
    interrupted: list[int] = []

    @client.define_job(id="ki", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        await io.run_task("one", lambda: 1)
        if not interrupted:
            interrupted.append(1)
            raise KeyboardInterrupt
        return "done"

    run = await client.invoke("ki", None)
    with pytest.raises(KeyboardInterrupt):
        await client.execute(run.id)
    record = store.get_run(run.id)
    assert record.lease_owner is None  # the lease was given back, not left to expire
    assert not record.status.is_final
    assert (await _run_on(client, run.id)).output == "done"


async def _run_on(client: Any, run_id: str) -> Any:
    await drive(client, run_id)
    return await client.get_run(run_id)


# -- 5. logging never fails a run -----------------------------------------------------------


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


async def test_log_fields_that_are_not_json_are_stored_as_their_repr(store: Any) -> None:
    client = make_client(store)
    when = datetime(2030, 1, 2, tzinfo=UTC)

    @client.define_job(id="logs", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        io.logger.info(
            "odd", when=when, items={3}, raw=b"\xff\x00", obj=object(), nan=math.nan,
            inf=math.inf, big=10**5000, keys={(1, 2): "x"}, bad=BadRepr(), long="y" * 5000,
            text="\udcff",
        )  # fmt: skip
        io.logger.info("many", **{f"f{i}": "z" * 900 for i in range(100)})
        await io.run_task("after", lambda: "ok")
        return "done"

    run = await _run(client, "logs")
    assert run.status is RunStatus.COMPLETED, run.error
    odd = run.logs[0].fields
    assert odd["when"] == "2030-01-02T00:00:00Z"
    assert odd["items"] == [3]
    assert odd["raw"] == "b'\\xff\\x00'"
    assert odd["obj"].startswith("<object object at")
    assert odd["nan"] == "nan" and odd["inf"] == "inf"
    assert odd["big"] == "<int>"
    assert odd["keys"] == {"1,2": "x"}  # pydantic's JSON form of a tuple key
    assert odd["text"] == "'\\udcff'"
    assert odd["bad"] == "<BadRepr>"
    assert odd["long"] == "y" * 5000  # JSON text is kept as given (within the line's bound)
    many = run.logs[1].fields
    assert "_truncated" in many
    assert len(str(many)) < 20_000


# -- 3. times: refused at the call, and bad stored times never break a read -----------------


@pytest.mark.parametrize(
    "seconds", [1e12, math.inf, math.nan, -1, -math.inf, timedelta(days=366), "10"]
)
async def test_an_out_of_range_wait_fails_only_that_run_naming_key_and_limit(
    store: Any, seconds: Any
) -> None:
    client = make_client(store)

    @client.define_job(id="wait", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        await io.wait("nap", payload if payload != "bad" else seconds)
        return "woke"

    bad = await _run(client, "wait", "bad")
    good = await _run(client, "wait", 5)
    assert bad.status is RunStatus.FAILED
    assert bad.error["type"] == "ValueError"
    assert "'nap'" in bad.error["message"] and "seconds" in bad.error["message"]
    if not isinstance(seconds, str):
        assert "365 days" in bad.error["message"]
    assert good.status is RunStatus.COMPLETED
    listed = await client.list_runs()
    assert {r.id for r in listed} == {bad.id, good.id}


async def test_wait_accepts_a_timedelta_and_an_until_in_the_past_returns_at_once(
    store: Any,
) -> None:
    client = make_client(store)

    @client.define_job(id="wait", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        await io.wait("delta", timedelta(minutes=5))
        await io.wait("past", until=datetime(2000, 1, 1, tzinfo=UTC))
        return "woke"

    run = await _run(client, "wait")
    assert run.status is RunStatus.COMPLETED
    delta, past = run.tasks
    assert abs((delta.resume_at - delta.started_at).total_seconds() - 300) < 1
    assert past.status is TaskStatus.COMPLETED


async def test_an_until_more_than_a_year_ahead_is_refused(store: Any) -> None:
    client = make_client(store)

    @client.define_job(id="wait", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        await io.wait("far", until=datetime(9999, 12, 31, tzinfo=UTC))

    run = await _run(client, "wait")
    assert run.status is RunStatus.FAILED
    assert "'far'" in run.error["message"] and "365 days" in run.error["message"]


@pytest.mark.parametrize(
    "options",
    [{"min_timeout": math.inf}, {"max_timeout": math.nan}, {"max_timeout": 1e12},
     {"min_timeout": -1}, {"factor": math.inf}],
)  # fmt: skip
def test_retry_policy_refuses_times_out_of_range(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(options))):
        RetryPolicy(3, **options)


def test_retry_policy_accepts_timedeltas() -> None:
    policy = RetryPolicy(3, min_timeout=timedelta(seconds=2), max_timeout=timedelta(minutes=1))
    assert (policy.min_timeout, policy.max_timeout) == (2.0, 60.0)


@pytest.mark.parametrize("value", [math.inf, math.nan, 1e12, -5, 0])
def test_max_duration_and_interval_seconds_are_finite_positive_and_bounded(
    tmp_path: Path, value: float
) -> None:
    client = make_client(SQLiteStore(tmp_path / "runs.db"))
    with pytest.raises(ConfigError, match="max_duration"):
        client.define_job(id="j", trigger=invoke_trigger(), max_duration=value,
                          run=_noop)  # fmt: skip
    with pytest.raises(ConfigError, match="interval_trigger seconds"):
        interval_trigger(value)


async def _noop(payload: Any, io: IO, ctx: Context) -> None:
    return None


BAD_TIMES = [1e12, 1e100, -1e100, math.inf, math.nan]


@pytest.mark.parametrize("bad", BAD_TIMES)
async def test_reads_survive_a_bad_time_written_directly_into_the_store(
    store: Any, bad: float
) -> None:
    client = make_client(store)
    client.define_job(id="j", trigger=invoke_trigger(), run=_noop)
    good = await client.invoke("j", None)
    if not isinstance(store, SQLiteStore) and not math.isfinite(bad):
        bad = 9.9e125  # DynamoDB refuses inf and NaN itself; this is its largest number
    store.create_run(RunRecord(
        id="bad_run", job_id="j", status=RunStatus.WAITING, created_at=1_800_000_000.0,
        started_at=bad, resume_at=bad, updated_at=bad, event_timestamp=bad,
    ))  # fmt: skip
    store.put_task(TaskRecord(run_id="bad_run", id="t", key="k", status=TaskStatus.WAITING,
                              attempts=1, started_at=bad, resume_at=bad))  # fmt: skip
    listed = await client.list_runs()
    assert {r.id for r in listed} == {"bad_run", good.id}
    run = await client.get_run("bad_run")
    assert run.tasks[0].key == "k"
    assert run.started_at is not None


# -- helpers shared by later sections --------------------------------------------------------


def _log_records(caplog: pytest.LogCaptureFixture, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == name]


# -- 10. define_job, ctx, cancel ------------------------------------------------------------


def test_define_job_refuses_a_sync_run_function(tmp_path: Path) -> None:
    client = make_client(SQLiteStore(tmp_path / "runs.db"))

    def sync_run(payload: Any, io: IO, ctx: Context) -> None:
        return None

    with pytest.raises(ConfigError, match="'sync'.*async function"):
        client.define_job(id="sync", trigger=invoke_trigger(), run=sync_run)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="async function"):
        client.define_job(id="sync2", trigger=invoke_trigger())(sync_run)  # type: ignore[arg-type]
    assert "sync" not in client.jobs and "sync2" not in client.jobs

    class Runner:
        async def __call__(self, payload: Any, io: IO, ctx: Context) -> str:
            return "ok"

    client.define_job(id="callable", trigger=invoke_trigger(), run=Runner())


async def test_ctx_carries_run_job_environment_organization_and_event(store: Any) -> None:
    client = make_client(store, organization="acme")
    seen: list[Context] = []

    @client.define_job(id="ctx", trigger=event_trigger("user.created"), version="2.1.0")
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        seen.append(ctx)
        await io.wait("nap", 10)
        await io.wait("nap2", 10)
        return ctx.run.attempt

    event = await client.send_event("user.created", {"a": 1}, id="evt-1",
                                    timestamp=datetime(2030, 5, 6, tzinfo=UTC))  # fmt: skip
    await drive(client, event.run_ids[0])
    assert len(seen) == 3
    first, last = seen[0], seen[-1]
    assert [c.run.attempt for c in seen] == [1, 1, 1]  # not the invocation count
    assert [c.run.invocation for c in seen] == [1, 2, 3]
    assert last.run.invocation_count == 3
    assert not last.run.is_retry
    assert last.run.id == event.run_ids[0]
    assert first.run.started_at == last.run.started_at is not None
    assert (last.job.id, last.job.version) == ("ctx", "2.1.0")
    assert last.environment == "dev" and last.organization == "acme"
    assert (last.event.id, last.event.name) == ("evt-1", "user.created")
    assert last.event.timestamp == datetime(2030, 5, 6, tzinfo=UTC)
    assert last.event.context == {}


async def test_canceling_a_run_that_then_waits_logs_no_lease_lost_warning(
    store: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(store)

    @client.define_job(id="cancel", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        async def cancel_me() -> None:
            await client.cancel_run(ctx.run.id)

        await io.run_task("cancel", cancel_me)
        await io.wait("nap", 60)

    run = await client.invoke("cancel", None)
    with caplog.at_level(logging.INFO, logger="triggerfish"):
        outcome = await client.execute(run.id)
    assert outcome.status is RunStatus.CANCELED
    assert not [r for r in caplog.records if "lease lost" in r.getMessage()]
    assert (await client.get_run(run.id)).status is RunStatus.CANCELED


# -- 6. sync task functions run in a worker thread -------------------------------------------


async def test_a_blocking_sync_task_does_not_stall_other_runs_in_the_process(store: Any) -> None:
    client = make_client(store)
    order: list[str] = []
    progressed = threading.Event()

    @client.define_job(id="blocking", trigger=invoke_trigger())
    async def blocking(payload: Any, io: IO, ctx: Context) -> Any:
        def block() -> str:
            order.append("A start")
            # Blocks its thread until the other run has done its tasks: on the event loop
            # this would deadlock the process until the timeout.
            is_set = progressed.wait(timeout=20)
            time.sleep(0.2)
            order.append("A end")
            return "progressed" if is_set else "stalled"

        return await io.run_task("block", block)

    @client.define_job(id="other", trigger=invoke_trigger())
    async def other(payload: Any, io: IO, ctx: Context) -> Any:
        while "A start" not in order:
            await asyncio.sleep(0.01)
        for n in range(3):
            await io.run_task(f"t{n}", lambda n=n: order.append(f"B {n}"))
        progressed.set()
        return "done"

    first = await client.invoke("blocking", None)
    second = await client.invoke("other", None)
    await asyncio.gather(drive(client, first.id), drive(client, second.id))
    assert (await client.get_run(first.id)).output == "progressed"
    assert order == ["A start", "B 0", "B 1", "B 2", "A end"]


async def test_a_sync_task_logs_in_its_scope_and_may_return_an_awaitable_subtask(
    store: Any,
) -> None:
    client = make_client(store)
    threads: list[str] = []

    @client.define_job(id="sync", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        def work() -> int:
            threads.append(threading.current_thread().name)
            io.logger.info("in the thread", n=1)
            return 41

        async def inner() -> int:
            threads.append(threading.current_thread().name)
            return 1

        first = await io.run_task("work", work)
        second = await io.run_task("outer", lambda: io.run_task("inner", inner))
        return first + second

    run = await _run(client, "sync")
    assert run.output == 42
    assert threads[0] != threading.main_thread().name  # the sync fn ran in a worker thread
    assert threads[1] == threading.main_thread().name  # the async fn ran on the loop
    assert run.logs[0].task_key == "work"
    outer = next(t for t in run.tasks if t.key == "outer")
    assert [c.key for c in outer.children] == ["inner"]


# -- 11. SQLite warns about outputs DynamoDB could not hold without a bucket ----------------


async def test_sqlite_warns_once_about_an_output_dynamodb_would_refuse(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(SQLiteStore(tmp_path / "runs.db"))
    big = "x" * 400_000

    @client.define_job(id="big", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        await io.run_task("small", lambda: "fine")
        await io.run_task("large", lambda: big)
        await io.wait("nap", 5)
        await io.run_task("also-large", lambda: big)
        return big

    run = await client.invoke("big", None)
    with caplog.at_level(logging.WARNING, logger="triggerfish.core.store.sqlite"):
        assert (await drive(client, run.id)).status is RunStatus.COMPLETED
    warnings = [r.getMessage() for r in _log_records(caplog, "triggerfish.core.store.sqlite")]
    assert len(warnings) == 3, warnings
    assert "task 'large'" in warnings[0] and "400002 bytes" in warnings[0]
    assert "358400 bytes" in warnings[0] and "TRIGGERFISH_BUCKET" in warnings[0]
    assert "task 'also-large'" in warnings[1]
    assert "the run's output" in warnings[2]
    assert (await client.get_run(run.id)).output == big


@pytest.mark.parametrize("margin", [math.inf, math.nan, 1e12])
def test_yield_margin_is_finite_and_bounded(tmp_path: Path, margin: float) -> None:
    with pytest.raises(ConfigError, match="yield_margin must be a finite number of seconds"):
        make_client(SQLiteStore(tmp_path / "runs.db"), yield_margin=margin)
