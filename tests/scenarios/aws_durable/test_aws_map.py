"""AWS suite 9 (map: a function over items) mapped onto io.parallel(key, items, fn);
completion configs onto its policies and BatchResult (projected as AWS counts them)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aws_durable_support import job, projection, run_job
from triggerfish.core import IO, Client, Context, RunStatus
from triggerfish.core.testing import drive


def _define_policy_map(client: Client, items: list[Any], started: list[Any] | None = None,
                       **policy: Any) -> None:  # fmt: skip
    seen = started if started is not None else []

    def process(item: Any) -> Any:
        seen.append(item)
        if str(item).startswith("bad"):
            raise RuntimeError(f"item {item} failed")
        return item

    @job(client)
    async def mapper(payload: Any, io: IO, ctx: Context) -> Any:
        batch = await io.parallel("map", items, process, max_concurrency=1, **policy)
        return projection(batch)


async def test_9_1_each_item_runs_a_step_results_in_item_order(client: Client) -> None:
    @job(client)
    async def mapper(payload: Any, io: IO, ctx: Context) -> Any:
        async def greet(name: str) -> Any:
            return await io.run_task("greet", lambda: f"Hello, {name}!")

        return await io.parallel("map", payload, greet, max_concurrency=1)

    run = await run_job(client, ["World", "Kiro"])
    assert run.output == ["Hello, World!", "Hello, Kiro!"]
    (parent,) = run.tasks
    assert sorted(c.key for c in parent.children) == ["0", "1"]


async def test_9_2_a_function_returning_directly(client: Client) -> None:
    @job(client)
    async def mapper(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.parallel("map", payload, lambda n: n * 2, max_concurrency=1)

    assert (await run_job(client, [1, 2])).output == [2, 4]


async def test_9_3_the_function_gets_the_item_and_its_index(client: Client) -> None:
    @job(client)
    async def mapper(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.parallel("map", list(enumerate(payload)), lambda pair: pair[0] + pair[1],
                                 max_concurrency=1)  # fmt: skip

    assert (await run_job(client, [10, 20, 30])).output == [10, 21, 32]


async def test_9_4_no_items(client: Client) -> None:
    @job(client)
    async def mapper(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.parallel("map", payload, lambda n: n)

    run = await run_job(client, [])
    assert (run.status, run.output) == (RunStatus.COMPLETED, [])


async def test_9_5_fail_fast_leaves_later_items_unstarted(client: Client) -> None:
    started: list[Any] = []
    _define_policy_map(client, ["ok", "bad", "never"], started, tolerated_failures=0)
    run = await run_job(client)
    assert run.output == {"completionReason": "FAILURE_TOLERANCE_EXCEEDED", "hasFailure": True,
                          "successCount": 1, "failureCount": 1, "totalCount": 2,
                          "notStarted": 1}  # fmt: skip
    assert started == ["ok", "bad"]


async def test_9_6_raise_if_failed_fails_the_run(client: Client) -> None:
    @job(client)
    async def mapper(payload: Any, io: IO, ctx: Context) -> Any:
        def process(item: str) -> str:
            raise RuntimeError(f"{item} broke")

        batch = await io.parallel("map", ["a", "b"], process, max_concurrency=1,
                                  tolerated_failures=0)  # fmt: skip
        batch.raise_if_failed()

    run = await run_job(client)
    assert run.status is RunStatus.FAILED
    assert run.error is not None and "a broke" in run.error["message"]


async def test_9_7_min_successful_stops_early(client: Client) -> None:
    started: list[Any] = []
    _define_policy_map(client, ["a", "b", "c", "d"], started, min_successful=2)
    run = await run_job(client)
    assert run.output["completionReason"] == "MIN_SUCCESSFUL_REACHED"
    assert (run.output["successCount"], run.output["totalCount"]) == (2, 2)
    assert started == ["a", "b"]


async def test_9_8_one_tolerated_failure_runs_every_item(client: Client) -> None:
    _define_policy_map(client, ["a", "bad", "c"], tolerated_failures=1)
    run = await run_job(client)
    assert run.output == {"completionReason": "ALL_COMPLETED", "hasFailure": True,
                          "successCount": 2, "failureCount": 1, "totalCount": 3,
                          "notStarted": 0}  # fmt: skip


async def test_9_9_more_failures_than_tolerated_stops_early(client: Client) -> None:
    started: list[Any] = []
    _define_policy_map(client, ["bad-0", "bad-1", "c"], started, tolerated_failures=1)
    run = await run_job(client)
    assert run.output["completionReason"] == "FAILURE_TOLERANCE_EXCEEDED"
    assert started == ["bad-0", "bad-1"]


async def test_9_10_a_failure_ratio_above_the_tolerated_one_stops_early(client: Client) -> None:
    started: list[Any] = []
    _define_policy_map(client, ["bad-0", "bad-1", "c", "d"], started,
                       tolerated_failure_ratio=0.25)  # fmt: skip
    run = await run_job(client)
    assert run.output["completionReason"] == "FAILURE_TOLERANCE_EXCEEDED"
    assert (run.output["failureCount"], run.output["totalCount"]) == (2, 2)
    assert started == ["bad-0", "bad-1"]


async def test_9_11_concurrent_items_return_in_item_order(client: Client) -> None:
    @job(client)
    async def mapper(payload: Any, io: IO, ctx: Context) -> Any:
        async def slow(n: int) -> str:
            await asyncio.sleep(0.03 * (2 - n))
            return f"r{n}"

        return await io.parallel("map", [0, 1, 2], slow, max_concurrency=2)

    assert (await run_job(client)).output == ["r0", "r1", "r2"]


async def test_9_13_items_named_by_a_dict(client: Client) -> None:
    @job(client)
    async def mapper(payload: Any, io: IO, ctx: Context) -> Any:
        named = {f"item-{n}": n for n in payload}
        got = await io.parallel("map", named, lambda n: n * 10, max_concurrency=1)
        return list(got.values())

    run = await run_job(client, [1, 2])
    assert run.output == [10, 20]
    assert sorted(c.key for c in run.tasks[0].children) == ["item-1", "item-2"]


class Rot13:
    """A real, non-identity per-item serdes: stores strings rot13-encoded."""

    def serialize(self, value: Any) -> str:
        import codecs

        return json.dumps(codecs.encode(value, "rot13") if isinstance(value, str) else value)

    def deserialize(self, text: str) -> Any:
        import codecs

        value = json.loads(text)
        return codecs.decode(value, "rot13") if isinstance(value, str) else value


async def test_9_14_a_custom_item_serdes_round_trips(client: Client) -> None:
    @job(client)
    async def mapper(payload: Any, io: IO, ctx: Context) -> Any:
        got = await io.parallel("map", ["x", "y"], str.upper, max_concurrency=1,
                                serdes=Rot13())  # fmt: skip
        await io.wait("then", seconds=1)
        return got

    run = await run_job(client)
    assert run.output == ["X", "Y"]
    assert sorted(c.output for c in run.tasks[0].children) != ["X", "Y"]  # stored encoded


async def test_9_15_a_wait_inside_one_item_suspends_the_map(client: Client) -> None:
    calls: list[str] = []

    @job(client)
    async def mapper(payload: Any, io: IO, ctx: Context) -> Any:
        async def item(n: int) -> Any:
            if n == 1:
                await io.wait("pause", seconds=1)
            return await io.run_task("step", lambda: calls.append(f"r{n}") or f"r{n}")

        return await io.parallel("map", [0, 1], item, max_concurrency=1)

    run = await client.invoke("job", None)
    report = await drive(client, run.id)
    done = await client.get_run(run.id)
    assert (done.output, report.suspensions, calls) == (["r0", "r1"], 1, ["r0", "r1"])


async def test_9_16_large_item_results(client: Client) -> None:
    @job(client)
    async def mapper(payload: Any, io: IO, ctx: Context) -> Any:
        got = await io.parallel("map", [0, 1, 2, 3], lambda n: str(n) * 70_000,
                                max_concurrency=1)  # fmt: skip
        await io.wait("then", seconds=1)
        return {"successCount": len(got), "sizes": [len(g) for g in got]}

    run = await run_job(client)
    assert run.status is RunStatus.COMPLETED, run.error
    assert run.output == {"successCount": 4, "sizes": [70_000] * 4}


async def test_9_17_a_wait_after_the_map_replays_it_without_running_items(
    client: Client,
) -> None:
    calls: list[str] = []

    @job(client)
    async def mapper(payload: Any, io: IO, ctx: Context) -> Any:
        got = await io.parallel("map", ["a", "b"], lambda s: calls.append(s) or s.upper(),
                                max_concurrency=1)  # fmt: skip
        await io.wait("then", seconds=1)
        return got

    run = await run_job(client)
    assert (run.output, calls) == (["A", "B"], ["a", "b"])


async def test_9_18_a_wait_after_a_map_with_a_tolerated_failure_replays_the_batch(
    client: Client,
) -> None:
    calls: list[str] = []
    projections: list[Any] = []

    @job(client)
    async def mapper(payload: Any, io: IO, ctx: Context) -> Any:
        def process(item: str) -> str:
            calls.append(item)
            if item == "bad":
                raise RuntimeError("bad item")
            return item

        batch = await io.parallel("map", ["ok", "bad"], process, max_concurrency=1,
                                  tolerated_failures=1)  # fmt: skip
        projections.append(projection(batch))
        await io.wait("then", seconds=1)
        return projections[-1]

    run = await run_job(client)
    assert run.output == {"completionReason": "ALL_COMPLETED", "hasFailure": True,
                          "successCount": 1, "failureCount": 1, "totalCount": 2,
                          "notStarted": 0}  # fmt: skip
    assert calls == ["ok", "bad"] and projections[0] == projections[1]


class OpSerdes:
    """An operation-level serdes: the whole list as "OPSERDE:" and the items comma-joined."""

    def serialize(self, value: Any) -> str:
        return "OPSERDE:" + ",".join(value)

    def deserialize(self, text: str) -> Any:
        return text.removeprefix("OPSERDE:").split(",")


def _define_op_serdes(client: Client) -> None:
    @job(client)
    async def mapper(payload: Any, io: IO, ctx: Context) -> Any:
        async def whole() -> Any:
            return await io.parallel("items", ["x", "y"], str.upper, max_concurrency=1)

        got = await io.run_task("map", whole, serdes=OpSerdes())
        await io.wait("then", seconds=1)
        return got


async def test_9_19_an_operation_level_serdes_writes_the_whole_result(client: Client) -> None:
    _define_op_serdes(client)
    run = await run_job(client)
    assert run.output == ["X", "Y"]
    assert run.tasks[0].output == "OPSERDE:X,Y"  # shown as the text the serdes wrote


async def test_9_20_a_replay_reads_the_whole_result_through_the_serdes(client: Client) -> None:
    _define_op_serdes(client)
    run = await client.invoke("job", None)
    report = await drive(client, run.id)
    done = await client.get_run(run.id)
    assert (report.suspensions, done.output) == (1, ["X", "Y"])
