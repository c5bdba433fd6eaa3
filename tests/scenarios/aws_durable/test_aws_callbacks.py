"""AWS suite 4 (callback) mapped onto io.wait_for_request, answered over HTTP through the app
under uvicorn: POST {url}, {url}/fail, {url}/heartbeat. A callback created before other work
and awaited later is an `asyncio.gather` of the request wait and that work."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest
from aws_durable_support import drive_past_timeouts, job, post, start
from pydantic import BaseModel
from triggerfish.core import IO, Client, Context, RunStatus, WaitTimeout
from triggerfish.core.testing import drive

REJECTED = {"type": "RejectedError", "message": "not approved"}


def _callback_failed() -> type[Exception]:
    from triggerfish.core import CallbackFailed  # type: ignore[attr-defined]

    failed: type[Exception] = CallbackFailed
    return failed


async def _finish(client: Client, run_id: str) -> Any:
    await drive(client, run_id)
    return await client.get_run(run_id)


async def _timed_out(client: Client, run_id: str) -> Any:
    await drive_past_timeouts(client, run_id)
    return await client.get_run(run_id)


def _define_simple(client: Client, urls: dict[str, str], **options: Any) -> None:
    @job(client)
    async def approval(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.wait_for_request(payload, lambda url: urls.setdefault(payload, url),
                                         **options)  # fmt: skip


async def test_4_1_a_callback_answered_with_a_payload_resumes_the_run(served: Client) -> None:
    urls: dict[str, str] = {}
    _define_simple(served, urls)
    run_id = await start(served, "cb-1")
    assert (await served.get_run(run_id)).status is RunStatus.WAITING
    assert post(urls["cb-1"], {"payload": "p-1"}).status_code == 200

    run = await _finish(served, run_id)
    assert (run.status, run.output) == (RunStatus.COMPLETED, {"payload": "p-1"})


async def test_4_2_a_callback_is_recorded_under_its_key(served: Client) -> None:
    urls: dict[str, str] = {}
    _define_simple(served, urls)
    run_id = await start(served, "approval")
    post(urls["approval"], "yes")

    run = await _finish(served, run_id)
    assert run.output == "yes"
    assert [(t.key, t.kind) for t in run.tasks] == [("approval", "request")]


async def test_4_3_a_callback_nobody_answers_times_out(served: Client) -> None:
    urls: dict[str, str] = {}
    _define_simple(served, urls, timeout=5)
    run_id = await start(served, "cb-3")

    run = await _timed_out(served, run_id)
    assert run.status is RunStatus.FAILED
    assert run.error is not None and run.error["type"] == "WaitTimeout"


async def test_4_4_a_callback_without_heartbeats_times_out(served: Client) -> None:
    urls: dict[str, str] = {}
    _define_simple(served, urls, timeout=3600, heartbeat_timeout=5)
    run_id = await start(served, "cb-4")

    run = await _timed_out(served, run_id)
    assert run.status is RunStatus.FAILED
    assert run.error is not None and run.error["type"] == "WaitTimeout"
    started = run.tasks[0].started_at
    assert (run.completed_at - started).total_seconds() < 60  # the heartbeat, not the hour


async def test_4_5_a_heartbeat_keeps_the_callback_alive_until_its_answer(served: Client) -> None:
    urls: dict[str, str] = {}
    _define_simple(served, urls, timeout=3600, heartbeat_timeout=10)
    run_id = await start(served, "cb-5")
    served.clock.advance(8)  # type: ignore[attr-defined]
    assert post(urls["cb-5"] + "/heartbeat", {}).status_code == 200
    served.clock.advance(8)  # 16 s after the start: alive thanks to the heartbeat
    assert (await served.execute(run_id)).status is RunStatus.WAITING
    assert post(urls["cb-5"], "done").status_code == 200

    run = await _finish(served, run_id)
    assert (run.status, run.output) == (RunStatus.COMPLETED, "done")


async def test_4_6_a_failure_reported_from_outside_fails_the_run(served: Client) -> None:
    urls: dict[str, str] = {}
    _define_simple(served, urls)
    run_id = await start(served, "cb-6")
    assert post(urls["cb-6"] + "/fail", REJECTED).status_code == 200

    run = await _finish(served, run_id)
    assert run.status is RunStatus.FAILED and run.error is not None
    assert "RejectedError" in f"{run.error['type']} {run.error['message']}"
    assert "not approved" in run.error["message"]


async def test_4_7_a_callback_beside_a_step_fails_the_run_when_failed(served: Client) -> None:
    urls: dict[str, str] = {}
    steps: list[int] = []

    @job(served)
    async def approval(payload: Any, io: IO, ctx: Context) -> Any:
        return await asyncio.gather(
            io.wait_for_request("cb", lambda url: urls.setdefault("cb", url)),
            io.run_task("step", lambda: steps.append(1)),
        )

    run_id = await start(served)
    post(urls["cb"] + "/fail", REJECTED)
    run = await _finish(served, run_id)
    assert run.status is RunStatus.FAILED and steps == [1]
    assert run.error is not None and "not approved" in run.error["message"]


async def test_4_8_a_callback_beside_a_step_times_out(served: Client) -> None:
    urls: dict[str, str] = {}
    steps: list[int] = []

    @job(served)
    async def approval(payload: Any, io: IO, ctx: Context) -> Any:
        return await asyncio.gather(
            io.wait_for_request("cb", lambda url: urls.setdefault("cb", url), timeout=5),
            io.run_task("step", lambda: steps.append(1)),
        )

    run_id = await start(served)
    run = await _timed_out(served, run_id)
    assert run.status is RunStatus.FAILED and steps == [1]
    assert run.error is not None and run.error["type"] == "WaitTimeout"


def _define_with_wait(client: Client, urls: dict[str, str], *, wait: float,
                      **options: Any) -> None:  # fmt: skip
    @job(client)
    async def approval(payload: Any, io: IO, ctx: Context) -> Any:
        body, _ = await asyncio.gather(
            io.wait_for_request("cb", lambda url: urls.setdefault("cb", url), **options),
            io.wait("pause", seconds=wait),
        )
        return body


async def test_4_9_a_callback_answered_during_a_wait_is_returned_after_it(
    served: Client,
) -> None:
    urls: dict[str, str] = {}
    _define_with_wait(served, urls, wait=5)
    run_id = await start(served)
    post(urls["cb"], "during the wait")
    outcome = await served.execute(run_id)
    assert outcome.status is RunStatus.WAITING  # the wait still runs

    run = await _finish(served, run_id)
    assert (run.status, run.output) == (RunStatus.COMPLETED, "during the wait")


async def test_4_10_a_callback_failed_during_a_wait_fails_the_run_after_it(
    served: Client,
) -> None:
    urls: dict[str, str] = {}
    _define_with_wait(served, urls, wait=5)
    run_id = await start(served)
    assert post(urls["cb"] + "/fail", REJECTED).status_code == 200

    run = await _finish(served, run_id)
    assert run.status is RunStatus.FAILED
    assert run.error is not None and "not approved" in run.error["message"]


async def test_4_11_a_callback_timing_out_during_a_longer_wait_fails_the_run(
    served: Client,
) -> None:
    urls: dict[str, str] = {}
    _define_with_wait(served, urls, wait=6, timeout=3)
    run_id = await start(served)

    run = await _timed_out(served, run_id)
    assert run.status is RunStatus.FAILED
    assert run.error is not None and run.error["type"] == "WaitTimeout"


async def test_4_12_a_callback_then_a_wait_then_its_result(served: Client) -> None:
    urls: dict[str, str] = {}

    @job(served)
    async def approval(payload: Any, io: IO, ctx: Context) -> Any:
        body = await io.wait_for_request("cb", lambda url: urls.setdefault("cb", url))
        await io.wait("pause", seconds=2)
        return body

    run_id = await start(served)
    post(urls["cb"], {"ok": 1})
    run = await _finish(served, run_id)
    assert (run.status, run.output) == (RunStatus.COMPLETED, {"ok": 1})


async def test_4_13_a_caught_callback_failure_then_a_wait(served: Client) -> None:
    urls: dict[str, str] = {}
    failed = _callback_failed()

    @job(served)
    async def approval(payload: Any, io: IO, ctx: Context) -> Any:
        try:
            message = await io.wait_for_request("cb", lambda url: urls.setdefault("cb", url))
        except failed as exc:
            message = f"{exc.error['type']}: {exc.error['message']}"  # type: ignore[attr-defined]
        await io.wait("pause", seconds=2)
        return message

    run_id = await start(served)
    post(urls["cb"] + "/fail", REJECTED)
    run = await _finish(served, run_id)
    assert (run.status, run.output) == (RunStatus.COMPLETED, "RejectedError: not approved")


async def test_4_14_a_caught_callback_timeout_then_a_wait(served: Client) -> None:
    urls: dict[str, str] = {}

    @job(served)
    async def approval(payload: Any, io: IO, ctx: Context) -> Any:
        try:
            message = await io.wait_for_request("cb", lambda url: urls.setdefault("cb", url),
                                                timeout=3)  # fmt: skip
        except WaitTimeout as exc:
            message = f"timed out: {exc.key}"
        await io.wait("pause", seconds=2)
        return message

    run_id = await start(served)
    run = await _timed_out(served, run_id)
    assert (run.status, run.output) == (RunStatus.COMPLETED, "timed out: cb")


class Received(BaseModel):
    id: str
    message: str
    timestamp: datetime


async def test_4_15_a_callback_payload_parsed_into_a_typed_object(served: Client) -> None:
    urls: dict[str, str] = {}

    @job(served)
    async def approval(payload: Any, io: IO, ctx: Context) -> Any:
        body = await io.wait_for_request("cb", lambda url: urls.setdefault("cb", url))
        received = Received.model_validate(body)
        return {"received": {"id": received.id, "message": received.message,
                             "timestamp": int(received.timestamp.timestamp())}}  # fmt: skip

    run_id = await start(served)
    post(urls["cb"], {"id": "p-15", "message": "hello", "timestamp": "2026-01-01T00:00:00.000Z"})
    run = await _finish(served, run_id)
    assert run.output == {"received": {"id": "p-15", "message": "hello",
                                       "timestamp": 1767225600}}  # fmt: skip


async def test_4_16_a_callback_payload_that_is_a_number(served: Client) -> None:
    urls: dict[str, str] = {}

    @job(served)
    async def approval(payload: Any, io: IO, ctx: Context) -> Any:
        count = int(await io.wait_for_request("cb", lambda url: urls.setdefault("cb", url)))
        return {"count": count, "doubled": count * 2}

    run_id = await start(served)
    post(urls["cb"], 42)
    run = await _finish(served, run_id)
    assert run.output == {"count": 42, "doubled": 84}


async def test_4_17_callback_a_then_callback_b_in_sequence(served: Client) -> None:
    urls: dict[str, str] = {}

    @job(served)
    async def approvals(payload: Any, io: IO, ctx: Context) -> Any:
        a = await io.wait_for_request(payload[0], lambda url: urls.setdefault("a", url))
        b = await io.wait_for_request(payload[1], lambda url: urls.setdefault("b", url))
        return [a, b]

    run_id = await start(served, ["cb-a", "cb-b"])
    assert set(urls) == {"a"}  # B is made only once A is answered
    post(urls["a"], "A")
    assert (await served.execute(run_id)).status is RunStatus.WAITING
    post(urls["b"], "B")
    run = await _finish(served, run_id)
    assert run.output == ["A", "B"]


def _define_both(client: Client, urls: dict[str, str], *, b_first: bool) -> None:
    @job(client)
    async def approvals(payload: Any, io: IO, ctx: Context) -> Any:
        a = io.wait_for_request("cb-a", lambda url: urls.setdefault("a", url))
        b = io.wait_for_request("cb-b", lambda url: urls.setdefault("b", url))
        if b_first:
            got_b, got_a = await asyncio.gather(b, a)
        else:
            got_a, got_b = await asyncio.gather(a, b)
        return [got_a, got_b]


@pytest.mark.parametrize(("scenario", "b_first"), [("4-18", False), ("4-19", True)])
async def test_4_18_and_4_19_two_callbacks_made_together_answered_apart(
    served: Client, scenario: str, b_first: bool
) -> None:
    urls: dict[str, str] = {}
    _define_both(served, urls, b_first=b_first)
    run_id = await start(served)
    assert set(urls) == {"a", "b"}  # both made in the first invocation
    first, second = ("b", "a") if b_first else ("a", "b")
    post(urls[first], first.upper())
    assert (await served.execute(run_id)).status is RunStatus.WAITING
    post(urls[second], second.upper())
    run = await _finish(served, run_id)
    assert run.output == ["A", "B"]
