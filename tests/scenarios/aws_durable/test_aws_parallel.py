"""AWS suite 8 (parallel: a list of branch functions) mapped onto io.parallel over the
branches with `fn = lambda branch: branch()`; completion configs onto min_successful,
tolerated_failures and tolerated_failure_ratio, whose BatchResult we project as AWS does
(counts over the items that started)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aws_durable_support import job, projection, run_job
from triggerfish.core import IO, Client, Context, RunStatus
from triggerfish.core.testing import drive


def call(branch: Any) -> Any:
    return branch()


def ok(value: Any) -> Any:
    return lambda: value


def boom(message: str = "branch failed") -> Any:
    def fail() -> Any:
        raise RuntimeError(message)

    return fail


def _define_batch(client: Client, branches: list[Any], started: list[int] | None = None,
                  **policy: Any) -> None:  # fmt: skip
    counted = started if started is not None else []

    def tracked(index: int, branch: Any) -> Any:
        def run() -> Any:
            counted.append(index)
            return branch()

        return run

    @job(client)
    async def fan(payload: Any, io: IO, ctx: Context) -> Any:
        items = [tracked(i, b) for i, b in enumerate(branches)]
        batch = await io.parallel("parallel", items, call, max_concurrency=1, **policy)
        return projection(batch)


async def test_8_1_two_branches_each_a_step_in_branch_order(client: Client) -> None:
    @job(client)
    async def fan(payload: Any, io: IO, ctx: Context) -> Any:
        async def branch(n: int) -> Any:
            return await io.run_task("step", lambda: f"task-{n}")

        return await io.parallel("parallel", [1, 2], branch, max_concurrency=1)

    run = await run_job(client)
    assert run.output == ["task-1", "task-2"]
    (parent,) = run.tasks
    assert sorted(c.key for c in parent.children) == ["0", "1"]
    assert all([g.key for g in c.children] == ["step"] for c in parent.children)


async def test_8_2_branches_returning_directly(client: Client) -> None:
    @job(client)
    async def fan(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.parallel("p", [ok("alpha"), ok("beta")], call, max_concurrency=1)

    assert (await run_job(client)).output == ["alpha", "beta"]


async def test_8_3_named_branches(client: Client) -> None:
    @job(client)
    async def fan(payload: Any, io: IO, ctx: Context) -> Any:
        named = {"first": ok("one"), "second": ok("two")}
        got = await io.parallel("named", named, call, max_concurrency=1)
        return list(got.values())

    run = await run_job(client)
    assert run.output == ["one", "two"]
    assert sorted(c.key for c in run.tasks[0].children) == ["first", "second"]


async def test_8_4_branches_returning_different_types(client: Client) -> None:
    @job(client)
    async def fan(payload: Any, io: IO, ctx: Context) -> Any:
        got = await io.parallel("hetero", [ok("hello"), ok(42), ok({"k": "v"})], call,
                                max_concurrency=1)  # fmt: skip
        await io.wait("then", seconds=1)
        return got

    assert (await run_job(client)).output == ["hello", 42, {"k": "v"}]


async def test_8_5_no_branches(client: Client) -> None:
    @job(client)
    async def fan(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.parallel("empty", [], call)

    run = await run_job(client)
    assert (run.status, run.output) == (RunStatus.COMPLETED, [])


async def test_8_6_fail_fast_leaves_later_branches_unstarted(client: Client) -> None:
    started: list[int] = []
    _define_batch(client, [ok("ok"), boom(), ok("never")], started, tolerated_failures=0)
    run = await run_job(client)
    assert run.output == {"completionReason": "FAILURE_TOLERANCE_EXCEEDED", "hasFailure": True,
                          "successCount": 1, "failureCount": 1, "totalCount": 2,
                          "notStarted": 1}  # fmt: skip
    assert started == [0, 1]


async def test_8_7_raise_if_failed_fails_the_run(client: Client) -> None:
    @job(client)
    async def fan(payload: Any, io: IO, ctx: Context) -> Any:
        batch = await io.parallel("throwing", [boom("first branch broke"), ok("never")], call,
                                  max_concurrency=1, tolerated_failures=0)  # fmt: skip
        batch.raise_if_failed()
        return "unreachable"

    run = await run_job(client)
    assert run.status is RunStatus.FAILED
    assert run.error is not None and "first branch broke" in run.error["message"]


async def test_8_8_min_successful_stops_early(client: Client) -> None:
    started: list[int] = []
    _define_batch(client, [ok("a"), ok("b"), ok("c"), ok("d")], started, min_successful=2)
    run = await run_job(client)
    assert run.output["completionReason"] == "MIN_SUCCESSFUL_REACHED"
    assert (run.output["successCount"], run.output["totalCount"]) == (2, 2)
    assert started == [0, 1]


async def test_8_9_one_tolerated_failure_runs_every_branch(client: Client) -> None:
    _define_batch(client, [ok("a"), boom(), ok("c")], tolerated_failures=1)
    run = await run_job(client)
    assert run.output == {"completionReason": "ALL_COMPLETED", "hasFailure": True,
                          "successCount": 2, "failureCount": 1, "totalCount": 3,
                          "notStarted": 0}  # fmt: skip


async def test_8_10_more_failures_than_tolerated_stops_early(client: Client) -> None:
    started: list[int] = []
    _define_batch(client, [boom(), boom(), ok("c")], started, tolerated_failures=1)
    run = await run_job(client)
    assert run.output["completionReason"] == "FAILURE_TOLERANCE_EXCEEDED"
    assert (run.output["failureCount"], run.output["totalCount"]) == (2, 2)
    assert started == [0, 1]


async def test_8_11_concurrent_branches_return_in_branch_order(client: Client) -> None:
    def slow(value: str, delay: float) -> Any:
        async def run() -> str:
            await asyncio.sleep(delay)
            return value

        return run

    @job(client)
    async def fan(payload: Any, io: IO, ctx: Context) -> Any:
        branches = [slow("r0", 0.06), slow("r1", 0.03), slow("r2", 0.0)]
        return await io.parallel("concurrent", branches, call, max_concurrency=2)

    assert (await run_job(client)).output == ["r0", "r1", "r2"]


async def test_8_13_a_failure_ratio_above_the_tolerated_one_stops_early(client: Client) -> None:
    started: list[int] = []
    _define_batch(client, [boom(), boom(), ok("c"), ok("d")], started,
                  tolerated_failure_ratio=0.25)  # fmt: skip
    run = await run_job(client)
    assert run.output["completionReason"] == "FAILURE_TOLERANCE_EXCEEDED"
    assert (run.output["failureCount"], run.output["totalCount"]) == (2, 2)
    assert started == [0, 1]


async def test_8_14_a_branch_waiting_resumes_and_the_done_branch_is_not_run_again(
    client: Client,
) -> None:
    calls: list[str] = []

    @job(client)
    async def fan(payload: Any, io: IO, ctx: Context) -> Any:
        async def first() -> str:
            return await io.run_task("step", lambda: calls.append("b0") or "b0")

        async def second() -> str:
            await io.wait("pause", seconds=2)
            return "b1"

        return await io.parallel("replay", [first, second], call, max_concurrency=1)

    run = await client.invoke("job", None)
    report = await drive(client, run.id)
    done = await client.get_run(run.id)
    assert (done.output, report.suspensions, calls) == (["b0", "b1"], 1, ["b0"])


class Wrapped:
    """A serdes that stores each value as {"wrapped": value}."""

    def serialize(self, value: Any) -> str:
        return json.dumps({"wrapped": value})

    def deserialize(self, text: str) -> Any:
        return json.loads(text)["wrapped"]


async def test_8_15_a_custom_item_serdes_round_trips(client: Client) -> None:
    @job(client)
    async def fan(payload: Any, io: IO, ctx: Context) -> Any:
        got = await io.parallel("serde", [ok("x"), ok("y")], call, max_concurrency=1,
                                serdes=Wrapped())  # fmt: skip
        await io.wait("then", seconds=1)
        return got

    run = await run_job(client)
    assert run.output == ["x", "y"]


async def test_8_16_every_branch_failing_within_tolerance_completes_all(client: Client) -> None:
    _define_batch(client, [boom(), boom(), boom()], tolerated_failures=3)
    run = await run_job(client)
    assert run.output == {"completionReason": "ALL_COMPLETED", "hasFailure": True,
                          "successCount": 0, "failureCount": 3, "totalCount": 3,
                          "notStarted": 0}  # fmt: skip


async def test_8_17_min_successful_never_reached_runs_every_branch(client: Client) -> None:
    _define_batch(client, [ok("a"), boom(), ok("c")], min_successful=3)
    run = await run_job(client)
    assert run.output == {"completionReason": "ALL_COMPLETED", "hasFailure": True,
                          "successCount": 2, "failureCount": 1, "totalCount": 3,
                          "notStarted": 0}  # fmt: skip


async def test_8_18_the_failure_tolerance_is_exceeded_before_min_successful(
    client: Client,
) -> None:
    started: list[int] = []
    _define_batch(client, [boom(), boom(), ok("c"), ok("d")], started, min_successful=3,
                  tolerated_failures=1)  # fmt: skip
    run = await run_job(client)
    assert run.output["completionReason"] == "FAILURE_TOLERANCE_EXCEEDED"
    assert started == [0, 1]


async def test_8_19_max_concurrency_0_is_refused_and_fails_the_run(client: Client) -> None:
    started: list[int] = []

    @job(client)
    async def fan(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.parallel("bad", [ok(1), ok(2)], lambda b: started.append(1) or b(),
                                 max_concurrency=0)  # fmt: skip

    run = await run_job(client)
    assert run.status is RunStatus.FAILED and started == [] and run.tasks == []
    assert run.error is not None and "max_concurrency" in run.error["message"]


async def test_8_20_the_batch_accessors(client: Client) -> None:
    @job(client)
    async def fan(payload: Any, io: IO, ctx: Context) -> Any:
        batch = await io.parallel("accessors", [ok("a"), boom("b broke"), ok("c")], call,
                                  max_concurrency=1, tolerated_failures=1)  # fmt: skip
        return {"outputs": batch.outputs(), "errors": batch.errors()}

    run = await run_job(client)
    assert run.output["outputs"] == ["a", "c"]
    (error,) = run.output["errors"]
    assert error["type"] == "RuntimeError" and "b broke" in error["message"]


async def test_8_21_a_nested_parallel(client: Client) -> None:
    @job(client)
    async def fan(payload: Any, io: IO, ctx: Context) -> Any:
        async def outer_branch() -> Any:
            async def step(value: str) -> Any:
                return await io.run_task("step", lambda: value)

            return await io.parallel("inner", ["i1", "i2"], step, max_concurrency=1)

        return await io.parallel("outer", [outer_branch], call, max_concurrency=1)

    run = await run_job(client)
    assert (run.status, run.output) == (RunStatus.COMPLETED, [["i1", "i2"]]), run.error


async def test_8_22_a_failure_ratio_equal_to_the_tolerated_one_runs_every_branch(
    client: Client,
) -> None:
    _define_batch(client, [boom(), ok("b"), ok("c"), ok("d")], tolerated_failure_ratio=0.25)
    run = await run_job(client)
    assert run.output == {"completionReason": "ALL_COMPLETED", "hasFailure": True,
                          "successCount": 3, "failureCount": 1, "totalCount": 4,
                          "notStarted": 0}  # fmt: skip
