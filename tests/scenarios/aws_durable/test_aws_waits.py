"""AWS suite 2 (wait) mapped onto io.wait: suspension, names, sequences and duration units."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aws_durable_support import job
from triggerfish.core import IO, Client, Context, RunStatus
from triggerfish.core.testing import drive


async def _drive(client: Client) -> tuple[Any, Any]:
    run = await client.invoke("job", None)
    report = await drive(client, run.id)
    return report, await client.get_run(run.id)


def _wait_seconds(task: Any) -> float:
    return float((task.resume_at - task.started_at).total_seconds())


async def test_2_1_a_wait_suspends_once_and_the_run_completes(client: Client) -> None:
    @job(client)
    async def pause(payload: Any, io: IO, ctx: Context) -> Any:
        await io.wait("pause", seconds=5)
        return "Wait completed"

    report, run = await _drive(client)
    assert (report.suspensions, run.status, run.output) == (1, RunStatus.COMPLETED,
                                                            "Wait completed")  # fmt: skip
    assert run.tasks[0].kind == "wait" and round(_wait_seconds(run.tasks[0])) == 5


async def test_2_2_a_wait_is_recorded_under_its_key(client: Client) -> None:
    @job(client)
    async def pause(payload: Any, io: IO, ctx: Context) -> Any:
        await io.wait("custom_wait_name", seconds=2)
        return "named"

    _report, run = await _drive(client)
    assert [(t.key, t.kind) for t in run.tasks] == [("custom_wait_name", "wait")]


async def test_2_3_two_sequential_waits_suspend_twice(client: Client) -> None:
    @job(client)
    async def pauses(payload: Any, io: IO, ctx: Context) -> Any:
        await io.wait("wait-1", seconds=2)
        await io.wait("wait-2", seconds=2)
        return {"completedWaits": 2}

    report, run = await _drive(client)
    assert report.suspensions == 2 and run.output == {"completedWaits": 2}
    assert [t.key for t in run.tasks] == ["wait-1", "wait-2"]


async def test_2_4_a_wait_in_minutes_is_60_seconds(client: Client) -> None:
    @job(client)
    async def pause(payload: Any, io: IO, ctx: Context) -> Any:
        await io.wait("minute", timedelta(minutes=1))

    run = await client.invoke("job", None)
    assert (await client.execute(run.id)).status is RunStatus.WAITING
    waiting = await client.get_run(run.id)
    assert round(_wait_seconds(waiting.tasks[0])) == 60


async def test_2_5_a_wait_of_an_hour_is_3600_seconds(client: Client) -> None:
    @job(client)
    async def pause(payload: Any, io: IO, ctx: Context) -> Any:
        await io.wait("hour", timedelta(hours=1))

    run = await client.invoke("job", None)
    assert (await client.execute(run.id)).status is RunStatus.WAITING
    waiting = await client.get_run(run.id)
    assert round(_wait_seconds(waiting.tasks[0])) == 3600
    report = await drive(client, run.id)
    assert report.status is RunStatus.COMPLETED
