"""`client.cancel_runs` / `retry_runs` by filter: the ids acted on, safe to repeat (issue 19.7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from support.jobs import make_client
from triggerfish.core import IO, Client, ConfigError, Context, RunStatus, invoke_trigger
from triggerfish.core.bulk import MAX_BULK_RUNS
from triggerfish.core.testing import drive


def define_jobs(client: Client, broken: dict[str, bool]) -> None:
    @client.define_job(id="waits", trigger=invoke_trigger())
    async def waits(payload: Any, io: IO, ctx: Context) -> Any:
        await io.wait("long", seconds=3600)

    @client.define_job(id="other", trigger=invoke_trigger())
    async def other(payload: Any, io: IO, ctx: Context) -> Any:
        await io.wait("long", seconds=3600)

    @client.define_job(id="flaky", trigger=invoke_trigger())
    async def flaky(payload: Any, io: IO, ctx: Context) -> Any:
        def work() -> Any:
            if broken["now"]:
                raise RuntimeError("broken")
            return payload

        return await io.run_task("work", work)


async def started(client: Client, job_id: str, payload: Any = None) -> str:
    """A run of the job after its first invocation (WAITING, FAILED, ...), one second apart."""
    run = await client.invoke(job_id, payload)
    await client.execute(run.id)
    client.clock.advance(1)  # type: ignore[attr-defined]
    return run.id


def moment(client: Client) -> datetime:
    return datetime.fromtimestamp(client.clock.time(), tz=UTC)


async def test_cancel_runs_cancels_the_unfinished_runs_of_a_job_and_is_safe_to_repeat(
    store: Any,
) -> None:
    client = make_client(store)
    define_jobs(client, {"now": False})
    waiting = [await started(client, "waits") for _ in range(3)]
    done = await started(client, "flaky", 1)
    untouched = await started(client, "other")

    canceled = await client.cancel_runs(job_id="waits")

    assert canceled == waiting[::-1]  # newest first
    assert [(await client.get_run(r)).status for r in waiting] == [RunStatus.CANCELED] * 3
    assert await client.cancel_runs(job_id="waits") == []
    assert (await client.get_run(done)).status is RunStatus.COMPLETED
    assert (await client.get_run(untouched)).status is RunStatus.WAITING
    assert await client.cancel_runs(job_id="nope") == []


async def test_cancel_runs_filters_by_status_and_creation_time(store: Any) -> None:
    client = make_client(store)
    define_jobs(client, {"now": False})
    first = await started(client, "waits")
    middle_from = moment(client)
    middle = await started(client, "other")
    middle_to = moment(client)
    queued = await client.invoke("waits")  # PENDING: never executed
    client.clock.advance(1)  # type: ignore[attr-defined]

    assert await client.cancel_runs(status="COMPLETED") == []
    assert await client.cancel_runs(status=[RunStatus.PENDING]) == [queued.id]
    window = {"created_after": middle_from - timedelta(seconds=0.5),
              "created_before": middle_to - timedelta(seconds=0.5)}  # fmt: skip
    assert await client.cancel_runs(**window) == [middle]
    assert await client.cancel_runs(created_before=middle_from) == [first]
    assert await client.cancel_runs() == []


async def test_retry_runs_continues_failed_runs_by_filter(store: Any) -> None:
    client = make_client(store)
    broken = {"now": True}
    define_jobs(client, broken)
    failed = [await started(client, "flaky", n) for n in range(2)]
    waiting = await started(client, "waits")
    assert [(await client.get_run(r)).status for r in failed] == [RunStatus.FAILED] * 2
    broken["now"] = False

    retried = await client.retry_runs(job_id="flaky", status="failed")

    assert retried == failed[::-1]
    assert await client.retry_runs(job_id="flaky") == []  # PENDING now: nothing to retry
    for run_id in failed:
        assert (await drive(client, run_id)).status is RunStatus.COMPLETED
    assert [(await client.get_run(r)).output for r in failed] == [0, 1]
    assert await client.retry_runs() == []
    assert (await client.get_run(waiting)).status is RunStatus.WAITING


async def test_each_call_acts_on_at_most_limit_runs_and_the_next_call_goes_on(store: Any) -> None:
    client = make_client(store)
    define_jobs(client, {"now": False})
    waiting = [await started(client, "waits") for _ in range(3)]

    first = await client.cancel_runs(job_id="waits", limit=2)
    rest = await client.cancel_runs(job_id="waits", limit=2)

    assert (first, rest) == (waiting[:0:-1], waiting[:1])
    assert await client.cancel_runs(job_id="waits", limit=2) == []


@pytest.mark.parametrize(("options", "message"), [
    ({"created_before": datetime(2030, 1, 1)}, "created_before must be an aware datetime"),
    ({"created_after": "2030-01-01"}, "created_after must be an aware datetime"),
    ({"status": "SLEEPING"}, "status must be one of PENDING"),
    ({"status": []}, "status must be a run status or a non-empty list"),
    ({"limit": 0}, f"limit must be a whole number from 1 to {MAX_BULK_RUNS}"),
    ({"limit": MAX_BULK_RUNS + 1}, f"limit must be a whole number from 1 to {MAX_BULK_RUNS}"),
    ({"job_id": 5}, "job_id must be a job id"),
])  # fmt: skip
async def test_a_bad_filter_is_a_config_error_naming_the_field_and_changes_nothing(
    tmp_path: Any, options: dict[str, Any], message: str
) -> None:
    from triggerfish.core import SQLiteStore

    client = make_client(SQLiteStore(tmp_path / "runs.db"))
    define_jobs(client, {"now": False})
    run_id = await started(client, "waits")
    for call in (client.cancel_runs, client.retry_runs):
        with pytest.raises(ConfigError, match=message):
            await call(**options)
    assert (await client.get_run(run_id)).status is RunStatus.WAITING
