"""AWS suite 6 (wait_for_condition) mapped onto a polling task: each check is a subtask and
each pause between checks an io.wait inside it, so the state survives suspensions and a
replay runs no check twice. Our API has no wait_for_condition; this is the idiom."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_durable_support import job
from triggerfish.core import IO, Client, Context, RunStatus, TaskFailed
from triggerfish.core.testing import drive


class ConditionNotMet(Exception):
    """The polling gave up after its most attempts."""


async def wait_for_condition(
    io: IO,
    key: str,
    check: Callable[[Any], Any],
    initial: Any,
    *,
    until: Callable[[Any], bool],
    delay_seconds: float = 2,
    max_attempts: int | None = None,
    name: str | None = None,
    serdes: Any = None,
) -> Any:
    """Checks `check(state)` until `until(state)`, pausing `delay_seconds` between checks."""

    async def poll() -> Any:
        state, attempt = initial, 0
        while True:
            attempt += 1
            options = {"serdes": serdes} if serdes is not None else {}
            state = await io.run_task(f"check-{attempt}", lambda s=state: check(s), **options)
            if until(state):
                return state
            if max_attempts is not None and attempt >= max_attempts:
                raise ConditionNotMet(f"condition not met after {attempt} attempts")
            await io.wait(f"delay-{attempt}", seconds=delay_seconds)

    return await io.run_task(key, poll, name=name)


async def _drive(client: Client, payload: Any = None) -> tuple[Any, Any]:
    run = await client.invoke("job", payload)
    report = await drive(client, run.id)
    return report, await client.get_run(run.id)


def _counter(calls: list[Any]) -> Callable[[Any], Any]:
    def increment(state: int) -> int:
        calls.append(state)
        return state + 1

    return increment


async def test_6_1_polls_a_counter_until_it_reaches_the_threshold(client: Client) -> None:
    calls: list[Any] = []

    @job(client)
    async def poll(payload: Any, io: IO, ctx: Context) -> Any:
        return await wait_for_condition(io, "poll", _counter(calls), 0,
                                        until=lambda s: s >= payload)  # fmt: skip

    report, run = await _drive(client, 3)
    assert (run.output, calls, report.suspensions) == (3, [0, 1, 2], 2)


async def test_6_2_a_condition_already_met_needs_no_suspension(client: Client) -> None:
    @job(client)
    async def poll(payload: Any, io: IO, ctx: Context) -> Any:
        return await wait_for_condition(io, "poll", lambda s: s, 5, until=lambda s: s >= 5)

    report, run = await _drive(client)
    assert (run.output, report.suspensions, len(report.invocations)) == (5, 0, 1)


async def test_6_3_a_named_poll(client: Client) -> None:
    @job(client)
    async def poll(payload: Any, io: IO, ctx: Context) -> Any:
        return await wait_for_condition(io, "poll", _counter([]), 0, until=lambda s: s >= 2,
                                        name="poll-status")  # fmt: skip

    _report, run = await _drive(client)
    assert run.output == 2 and run.tasks[0].name == "poll-status"


async def test_6_4_the_initial_state_seeds_the_first_check(client: Client) -> None:
    calls: list[Any] = []

    @job(client)
    async def poll(payload: Any, io: IO, ctx: Context) -> Any:
        return await wait_for_condition(io, "poll", _counter(calls), 5,
                                        until=lambda s: s >= payload)  # fmt: skip

    _report, run = await _drive(client, 8)
    assert (run.output, calls) == (8, [5, 6, 7])


async def test_6_5_a_fixed_delay_between_checks(client: Client) -> None:
    @job(client)
    async def poll(payload: Any, io: IO, ctx: Context) -> Any:
        return await wait_for_condition(io, "poll", _counter([]), 0,
                                        until=lambda s: s >= payload, delay_seconds=2)  # fmt: skip

    _report, run = await _drive(client, 3)
    assert run.output == 3
    delays = [c for c in run.tasks[0].children if c.kind == "wait"]
    assert [round((d.resume_at - d.started_at).total_seconds()) for d in delays] == [2, 2]


async def test_6_6_a_condition_never_met_fails_after_the_most_attempts(client: Client) -> None:
    calls: list[Any] = []

    @job(client)
    async def poll(payload: Any, io: IO, ctx: Context) -> Any:
        return await wait_for_condition(io, "poll", _counter(calls), 0,
                                        until=lambda s: False, max_attempts=3)  # fmt: skip

    _report, run = await _drive(client)
    assert run.status is RunStatus.FAILED and len(calls) == 3
    assert run.error is not None and "after 3 attempts" in run.error["message"]


def _raise(state: Any) -> Any:
    raise RuntimeError("check broke")


async def test_6_7_a_check_that_raises_fails_the_run(client: Client) -> None:
    @job(client)
    async def poll(payload: Any, io: IO, ctx: Context) -> Any:
        return await wait_for_condition(io, "poll", _raise, 0, until=lambda s: True)

    _report, run = await _drive(client)
    assert run.status is RunStatus.FAILED
    assert run.error is not None and "check broke" in run.error["message"]


async def test_6_8_a_caught_check_error_returns_a_fallback(client: Client) -> None:
    @job(client)
    async def poll(payload: Any, io: IO, ctx: Context) -> Any:
        try:
            return await wait_for_condition(io, "poll", _raise, 0, until=lambda s: True)
        except TaskFailed:
            return "recovered"

    _report, run = await _drive(client)
    assert (run.status, run.output) == (RunStatus.COMPLETED, "recovered")


async def test_6_9_a_structured_state(client: Client) -> None:
    def step(state: dict[str, Any]) -> dict[str, Any]:
        attempts = state["attempts"] + 1
        return {"status": "DONE" if attempts >= 2 else "PENDING", "attempts": attempts}

    @job(client)
    async def poll(payload: Any, io: IO, ctx: Context) -> Any:
        return await wait_for_condition(io, "poll", step, {"status": "PENDING", "attempts": 0},
                                        until=lambda s: s["status"] == "DONE")  # fmt: skip

    _report, run = await _drive(client)
    assert run.output == {"status": "DONE", "attempts": 2}


async def test_6_10_a_null_state_that_stops_at_once(client: Client) -> None:
    @job(client)
    async def poll(payload: Any, io: IO, ctx: Context) -> Any:
        return {"state": await wait_for_condition(io, "poll", lambda s: None, 0,
                                                  until=lambda s: s is None)}  # fmt: skip

    report, run = await _drive(client)
    assert (run.output, report.suspensions) == ({"state": None}, 0)


class Reversed:
    """A serdes that stores strings reversed (AWS 6-11's custom state serdes)."""

    def serialize(self, value: Any) -> str:
        return json.dumps(value[::-1] if isinstance(value, str) else value)

    def deserialize(self, text: str) -> Any:
        value = json.loads(text)
        return value[::-1] if isinstance(value, str) else value


async def test_6_11_the_state_round_trips_through_a_custom_serdes(client: Client) -> None:
    @job(client)
    async def poll(payload: Any, io: IO, ctx: Context) -> Any:
        return await wait_for_condition(io, "poll", lambda s: s + "x", "",
                                        until=lambda s: len(s) >= 2, serdes=Reversed())  # fmt: skip

    _report, run = await _drive(client)
    assert run.output == "xx"


async def test_6_12_the_final_state_feeds_a_later_step(client: Client) -> None:
    calls: list[Any] = []

    @job(client)
    async def poll(payload: Any, io: IO, ctx: Context) -> Any:
        final = await wait_for_condition(io, "poll", _counter(calls), 0,
                                         until=lambda s: s >= payload)  # fmt: skip
        return await io.run_task("times-ten", lambda: final * 10)

    _report, run = await _drive(client, 2)
    assert (run.output, calls) == (20, [0, 1])  # the finished poll is not run again


async def test_6_13_two_polls_in_sequence_the_first_seeding_the_second(client: Client) -> None:
    @job(client)
    async def poll(payload: Any, io: IO, ctx: Context) -> Any:
        first = await wait_for_condition(io, "first", _counter([]), 0, until=lambda s: s >= 2)
        return await wait_for_condition(io, "second", _counter([]), first,
                                        until=lambda s: s >= 4)  # fmt: skip

    _report, run = await _drive(client)
    assert run.output == 4 and [t.key for t in run.tasks] == ["first", "second"]
