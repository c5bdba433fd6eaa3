"""io.parallel completion policies and dict items: a BatchResult, the same on replay (issue 18
item 1), on SQLite and DynamoDB."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from support.jobs import make_client
from triggerfish.core import (
    IO,
    BatchItem,
    BatchItemStatus,
    BatchResult,
    CompletionReason,
    ConfigError,
    Context,
    RunStatus,
    TaskFailed,
    invoke_trigger,
)
from triggerfish.core.testing import drive


def fails_on(*bad: int) -> Any:
    calls: Counter[int] = Counter()

    async def fn(n: int) -> int:
        calls[n] += 1
        if n in bad:
            raise RuntimeError(f"boom {n}")
        return n * 10

    fn.calls = calls  # type: ignore[attr-defined]
    return fn


async def run_batch(client: Any, make: Any) -> tuple[list[Any], Any]:
    """Runs a job calling `make(io)` then waiting, so the batch is replayed once."""
    seen: list[Any] = []

    @client.define_job(id="batch", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        seen.append(await make(io))
        await io.wait("nap", seconds=60)
        return "done"

    run = await client.invoke("batch", None)
    report = await drive(client, run.id)
    assert report.status is RunStatus.COMPLETED
    return seen, run


async def test_min_successful_stops_starting_items_and_replays_the_same_result(
    sqlite_or_moto_store: Any,
) -> None:
    client = make_client(sqlite_or_moto_store)
    fn = fails_on(0)
    seen, _ = await run_batch(client, lambda io: io.parallel(
        "fan", [0, 1, 2, 3, 4], fn, max_concurrency=1, min_successful=2))  # fmt: skip

    first, replayed = seen[0], seen[-1]
    assert len(seen) == 2 and first == replayed
    assert isinstance(first, BatchResult)
    assert first.completion_reason is CompletionReason.MIN_SUCCESSFUL_REACHED
    assert [i.status for i in first.items] == [
        BatchItemStatus.FAILED, BatchItemStatus.COMPLETED, BatchItemStatus.COMPLETED,
        BatchItemStatus.NOT_STARTED, BatchItemStatus.NOT_STARTED,
    ]  # fmt: skip
    assert [i.key for i in first.items] == ["0", "1", "2", "3", "4"]
    assert first.outputs() == [10, 20]
    assert first.errors() == [{"type": "RuntimeError", "message": "boom 0"}]
    assert first.items[3] == BatchItem("3", BatchItemStatus.NOT_STARTED, None, None)
    assert fn.calls == Counter({0: 1, 1: 1, 2: 1})  # the replay ran nothing, 3 and 4 never


async def test_tolerated_failures_exceeded_stops_the_batch(sqlite_or_moto_store: Any) -> None:
    client = make_client(sqlite_or_moto_store)
    fn = fails_on(1, 2)
    seen, _ = await run_batch(client, lambda io: io.parallel(
        "fan", [0, 1, 2, 3], fn, max_concurrency=1, tolerated_failures=1))  # fmt: skip

    result = seen[-1]
    assert result.completion_reason is CompletionReason.FAILURE_TOLERANCE_EXCEEDED
    assert [i.status.value for i in result.items] == ["COMPLETED", "FAILED", "FAILED", "NOT_STARTED"]
    with pytest.raises(TaskFailed) as raised:
        result.raise_if_failed()
    assert raised.value.key == "1" and "boom 1" in str(raised.value)


async def test_failures_within_tolerance_complete_all_items(sqlite_or_moto_store: Any) -> None:
    client = make_client(sqlite_or_moto_store)
    seen, _ = await run_batch(client, lambda io: io.parallel(
        "fan", [0, 1, 2, 3], fails_on(3), tolerated_failures=1))  # fmt: skip

    result = seen[-1]
    assert result.completion_reason is CompletionReason.ALL_COMPLETED
    assert result.outputs() == [0, 10, 20]
    assert [e["message"] for e in result.errors()] == ["boom 3"]


async def test_failure_ratio_is_exceeded_only_when_strictly_greater(store: Any) -> None:
    client = make_client(store)

    async def make(io: IO) -> Any:
        at_limit = await io.parallel("at", [0, 1, 2, 3], fails_on(0, 1),
                                     tolerated_failure_ratio=0.5)  # fmt: skip
        over = await io.parallel("over", [0, 1, 2, 3], fails_on(0, 1, 2), max_concurrency=1,
                                 tolerated_failure_ratio=0.5)  # fmt: skip
        return at_limit, over

    seen, _ = await run_batch(client, make)
    at_limit, over = seen[-1]
    assert at_limit.completion_reason is CompletionReason.ALL_COMPLETED  # 2/4 == 0.5: tolerated
    assert over.completion_reason is CompletionReason.FAILURE_TOLERANCE_EXCEEDED
    assert [i.status.value for i in over.items] == ["FAILED", "FAILED", "FAILED", "NOT_STARTED"]
    assert seen[0] == seen[-1]


async def test_only_min_successful_tolerates_any_number_of_failures(
    sqlite_or_moto_store: Any,
) -> None:
    client = make_client(sqlite_or_moto_store)
    seen, _ = await run_batch(client, lambda io: io.parallel(
        "fan", [0, 1, 2, 3, 4], fails_on(0, 1, 2), max_concurrency=1, min_successful=2))  # fmt: skip

    result = seen[-1]
    assert result.completion_reason is CompletionReason.ALL_COMPLETED
    assert result.outputs() == [30, 40] and len(result.errors()) == 3


async def test_dict_items_name_their_subtasks(sqlite_or_moto_store: Any) -> None:
    client = make_client(sqlite_or_moto_store)

    async def make(io: IO) -> Any:
        plain = await io.parallel("plain", {"eu": 1, "us": 2}, lambda n: n * 100)
        batch = await io.parallel("batch", {"eu": 1, "us": 2}, fails_on(2), min_successful=1)
        return plain, batch

    seen, run = await run_batch(client, make)
    plain, batch = seen[-1]
    assert seen[0] == seen[-1]
    assert plain == {"eu": 100, "us": 200}
    assert (batch.items[0].key, batch.items[0].status.value) == ("eu", "COMPLETED")
    finished = await client.get_run(run.id)
    tree = {t.key: sorted(c.key for c in t.children) for t in finished.tasks}
    assert tree["plain"] == ["eu", "us"] and tree["batch"] == ["eu", "us"]
    assert finished.tasks[0].output == {"eu": 100, "us": 200}


async def test_without_a_policy_a_failure_still_raises(sqlite_or_moto_store: Any) -> None:
    client = make_client(sqlite_or_moto_store)

    @client.define_job(id="strict", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.parallel("fan", {"a": 1, "b": 2}, fails_on(2))

    run = await client.invoke("strict", None)
    report = await drive(client, run.id)
    assert report.status is RunStatus.FAILED
    assert "item 'b' failed: boom 2" in (await client.get_run(run.id)).error["message"]


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"min_successful": 0}, "min_successful"),
        ({"min_successful": 4}, "min_successful"),
        ({"tolerated_failures": -1}, "tolerated_failures"),
        ({"tolerated_failure_ratio": 1.5}, "tolerated_failure_ratio"),
        ({"tolerated_failure_ratio": True}, "tolerated_failure_ratio"),
    ],
)
async def test_bad_policies_are_config_errors_naming_the_option(
    sqlite_or_moto_store: Any, options: dict[str, Any], named: str
) -> None:
    client = make_client(sqlite_or_moto_store)
    errors: list[str] = []

    @client.define_job(id="bad", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> None:
        try:
            await io.parallel("fan", [1, 2, 3], str, **options)
        except ConfigError as exc:
            errors.append(str(exc))

    run = await client.invoke("bad", None)
    await drive(client, run.id)
    assert len(errors) == 1 and named in errors[0]
    assert (await client.get_run(run.id)).tasks == []  # nothing written
