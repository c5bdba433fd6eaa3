"""io.random and io.now: made once, recorded, the same value on every replay (every store)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from support.jobs import make_client
from triggerfish.core import IO, Context, RunStatus, invoke_trigger
from triggerfish.core.testing import drive


async def test_random_and_now_are_recorded_once_and_replayed_after_a_wait(store: Any) -> None:
    client = make_client(store)
    seen: list[Any] = []

    @client.define_job(id="values", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        r = await io.random("r")
        dice = await io.random("dice", min=1, max=6, round=True)
        when = await io.now("when")
        seen.append((r, dice, when))
        await io.wait("nap", seconds=3600)
        return {"r": r, "dice": dice, "when": when.isoformat()}

    run = await client.invoke("values", None)
    report = await drive(client, run.id)

    assert report.status is RunStatus.COMPLETED
    assert len(seen) == 2 and seen[0] == seen[1]
    r, dice, when = seen[0]
    assert 0.0 <= r < 1.0
    assert isinstance(dice, int) and 1 <= dice <= 6
    assert when.tzinfo is not None and when.utcoffset() == UTC.utcoffset(when)
    assert abs(when.timestamp() - report.invocations[0].started_at) < 60
    finished = await client.get_run(run.id)
    assert finished.output == {"r": r, "dice": dice, "when": when.isoformat()}
    kinds = {t.key: t.kind for t in finished.tasks}
    assert kinds["r"] == "random" and kinds["when"] == "now"
    assert datetime.fromisoformat(finished.output["when"]) == when


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"min": 6, "max": 5}, "min must be at most max"),
        ({"min": float("nan")}, "min must be a finite number"),
        ({"max": float("inf")}, "max must be a finite number"),
        ({"min": 0.2, "max": 0.8, "round": True}, "needs an integer"),
    ],
)
async def test_random_rejects_bad_bounds_naming_the_field(
    options: dict[str, Any], words: str, tmp_path: Any
) -> None:
    from triggerfish.core import SQLiteStore

    client = make_client(SQLiteStore(tmp_path / "r.db"))

    @client.define_job(id="bad", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.random("r", **options)

    run = await client.invoke("bad", None)
    await drive(client, run.id)
    failed = await client.get_run(run.id)
    assert failed.status is RunStatus.FAILED
    assert words in failed.error["message"]
    assert failed.tasks == []


async def test_random_with_min_equal_to_max_returns_it_with_a_warning_once(store: Any) -> None:
    client = make_client(store)

    @client.define_job(id="same", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        value = await io.random("r", min=5, max=5)
        whole = await io.random("w", min=3, max=3, round=True)
        await io.wait("nap", seconds=60)  # a replay must not log the warnings again
        return [value, whole]

    run = await client.invoke("same", None)
    await drive(client, run.id)
    done = await client.get_run(run.id)
    assert done.status is RunStatus.COMPLETED and done.output == [5, 3]
    warnings = [log.message for log in done.logs if log.level == "WARN"]
    assert len(warnings) == 2 and "min == max" in warnings[0]
