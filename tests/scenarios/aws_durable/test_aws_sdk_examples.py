"""Scenarios from AWS's Python SDK examples beyond the conformance suite (README.md "SDK
examples"): invokes inside map and parallel, first-successful, a caught submitter failure,
exact types across replays and a gather of io calls after a suspension (issue 18)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from aws_durable_support import job, projection, run_job
from pydantic import BaseModel
from triggerfish.core import IO, Client, Context, RunStatus, TaskFailed


def _echo(client: Client) -> None:
    @job(client, "echo")
    async def echo(payload: Any, io: IO, ctx: Context) -> Any:
        return payload


async def test_map_with_an_invoke_per_item(client: Client) -> None:
    _echo(client)

    @job(client)
    async def mapper(payload: Any, io: IO, ctx: Context) -> Any:
        async def item(n: int) -> Any:
            return await io.invoke_and_wait("echo", "echo", n * 3)

        return await io.parallel("map", [1, 2, 3], item, max_concurrency=2)

    run = await run_job(client)
    assert (run.status, run.output) == (RunStatus.COMPLETED, [3, 6, 9]), run.error
    assert len((await client.list_runs(job_id="echo")).runs) == 3


async def test_parallel_branches_that_invoke(client: Client) -> None:
    _echo(client)

    @job(client)
    async def fan(payload: Any, io: IO, ctx: Context) -> Any:
        async def left() -> Any:
            return await io.invoke_and_wait("call", "echo", "L")

        async def right() -> Any:
            return await io.invoke_and_wait("call", "echo", "R")

        return await io.parallel("fan", [left, right], lambda branch: branch())

    run = await run_job(client)
    assert (run.status, run.output) == (RunStatus.COMPLETED, ["L", "R"]), run.error


async def test_parallel_first_successful(client: Client) -> None:
    started: list[int] = []

    @job(client)
    async def fan(payload: Any, io: IO, ctx: Context) -> Any:
        def attempt(n: int) -> int:
            started.append(n)
            if n == 0:
                raise RuntimeError("first mirror down")
            return n

        batch = await io.parallel("mirrors", [0, 1, 2], attempt, max_concurrency=1,
                                  min_successful=1)  # fmt: skip
        return {"first": batch.outputs()[0], **projection(batch)}

    run = await run_job(client)
    assert run.output["first"] == 1
    assert run.output["completionReason"] == "MIN_SUCCESSFUL_REACHED"
    assert started == [0, 1] and run.output["notStarted"] == 1


async def test_a_caught_submitter_failure(client: Client) -> None:
    client.runtime.base_url = "http://callbacks.example"

    @job(client)
    async def approval(payload: Any, io: IO, ctx: Context) -> Any:
        def submit(url: str) -> None:
            raise ConnectionError("ticket system down")

        try:
            return await io.wait_for_request("cb", submit)
        except TaskFailed as exc:
            return {"submitter failed": exc.error["message"]}

    run = await run_job(client)
    assert run.status is RunStatus.COMPLETED
    assert "ticket system down" in run.output["submitter failed"]


class Order(BaseModel):
    id: UUID
    total: Decimal
    placed: datetime


async def test_a_step_returns_the_same_types_when_run_and_replayed(client: Client) -> None:
    placed = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    value = {
        "when": placed, "day": date(2026, 1, 2), "price": Decimal("10.10"),
        "id": UUID(int=7), "raw": b"\x00\xff", "pair": (1, "a"), "tags": {"x"},
        "order": Order(id=UUID(int=8), total=Decimal("1.5"), placed=placed),
    }  # fmt: skip
    seen: list[Any] = []

    @job(client)
    async def typed(payload: Any, io: IO, ctx: Context) -> Any:
        got = await io.run_task("typed", lambda: value)
        seen.append(got)
        await io.wait("then", seconds=1)
        return "ok"

    run = await run_job(client)
    assert run.status is RunStatus.COMPLETED, run.error
    first, replayed = seen
    for got in (first, replayed):
        assert got == value
        assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in value.items()}


async def test_a_gather_after_a_suspension_starts_every_call_in_one_invocation(
    client: Client,
) -> None:
    started: list[tuple[int, str]] = []

    @job(client)
    async def gathered(payload: Any, io: IO, ctx: Context) -> Any:
        await io.wait("first", seconds=1)

        async def step(name: str) -> str:
            started.append((ctx.run.invocation_count, name))
            await asyncio.sleep(0)
            return name

        return await asyncio.gather(*(io.run_task(n, lambda n=n: step(n)) for n in "abc"))

    run = await run_job(client)
    assert run.output == ["a", "b", "c"]
    assert len({invocation for invocation, _ in started}) == 1 and len(started) == 3
