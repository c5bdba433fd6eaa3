"""AWS suite 7 (wait_for_callback: a callback plus a submitter) mapped onto
io.wait_for_request(key, fn): fn gets the callback URL once, as a task; answers arrive over
HTTP through the app under uvicorn."""

from __future__ import annotations

from typing import Any

from aws_durable_support import drive_past_timeouts, job, post, start
from triggerfish.core import IO, Client, Context, RetryPolicy, RunStatus, WaitTimeout
from triggerfish.core.testing import drive

REJECTED = {"type": "RejectedError", "message": "not approved"}


async def _finish(client: Client, run_id: str) -> Any:
    await drive(client, run_id)
    return await client.get_run(run_id)


class Submitter:
    """Records each URL it is handed (the outside system the run notifies)."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, url: str) -> str:
        self.urls.append(url)
        return "submitted"

    @property
    def url(self) -> str:
        return self.urls[-1]


def _define(client: Client, submit: Submitter, **options: Any) -> None:
    @job(client)
    async def approval(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.wait_for_request(payload or "approval", submit, **options)


async def test_7_1_the_submitter_gets_the_url_once_and_the_answer_is_returned(
    served: Client,
) -> None:
    submit = Submitter()
    _define(served, submit)
    run_id = await start(served, "cb-71")
    assert (await served.execute(run_id)).status is RunStatus.WAITING  # woken early: no resend
    assert post(submit.url, "payload-71").status_code == 200

    run = await _finish(served, run_id)
    assert (run.status, run.output) == (RunStatus.COMPLETED, "payload-71")
    assert len(submit.urls) == 1
    (wait,) = run.tasks
    assert [c.key for c in wait.children] == ["send url"]  # the submitter ran as a subtask


async def test_7_2_a_static_name(served: Client) -> None:
    submit = Submitter()
    _define(served, submit)
    run_id = await start(served)
    post(submit.url, "ok")
    run = await _finish(served, run_id)
    assert run.tasks[0].key == "approval" and run.output == "ok"


async def test_7_4_a_failure_from_outside_fails_the_run(served: Client) -> None:
    submit = Submitter()
    _define(served, submit)
    run_id = await start(served, "cb-74")
    assert post(submit.url + "/fail", REJECTED).status_code == 200
    run = await _finish(served, run_id)
    assert run.status is RunStatus.FAILED and run.error is not None
    assert "RejectedError" in f"{run.error['type']} {run.error['message']}"
    assert "not approved" in run.error["message"]


async def test_7_5_no_answer_within_the_timeout_fails_the_run(served: Client) -> None:
    submit = Submitter()
    _define(served, submit, timeout=3)
    run_id = await start(served, "cb-75")
    await drive_past_timeouts(served, run_id)
    run = await served.get_run(run_id)
    assert run.status is RunStatus.FAILED
    assert run.error is not None and run.error["type"] == "WaitTimeout"
    assert post(submit.url, "late").status_code == 409  # the token is spent


async def test_7_6_a_caught_failure_returns_a_recovery_value(served: Client) -> None:
    from triggerfish.core import CallbackFailed  # type: ignore[attr-defined]

    submit = Submitter()

    @job(served)
    async def approval(payload: Any, io: IO, ctx: Context) -> Any:
        try:
            return await io.wait_for_request("cb", submit)
        except CallbackFailed as exc:
            assert exc.error == REJECTED
            return "recovered"

    run_id = await start(served)
    post(submit.url + "/fail", REJECTED)
    run = await _finish(served, run_id)
    assert (run.status, run.output) == (RunStatus.COMPLETED, "recovered")


async def test_7_7_a_submitter_that_always_fails_exhausts_its_retries(served: Client) -> None:
    calls: list[str] = []

    @job(served)
    async def approval(payload: Any, io: IO, ctx: Context) -> Any:
        async def submit(url: str) -> Any:
            def send() -> None:
                calls.append(url)
                raise ConnectionError("the outside system is down")

            retry = RetryPolicy(limit=2, min_timeout=1, randomize=False)
            return await io.run_task("send", send, retry=retry)

        return await io.wait_for_request("cb", submit)

    run_id = await start(served)
    await drive_past_timeouts(served, run_id)
    run = await served.get_run(run_id)
    assert run.status is RunStatus.FAILED and len(calls) == 2
    assert run.error is not None and "the outside system is down" in run.error["message"]


async def test_7_8_a_callback_inside_a_child(served: Client) -> None:
    submit = Submitter()

    @job(served)
    async def approval(payload: Any, io: IO, ctx: Context) -> Any:
        async def wrapper() -> Any:
            return await io.wait_for_request("cb", submit)

        return await io.run_task("wrapper", wrapper)

    run_id = await start(served)
    post(submit.url, "wrapped")
    run = await _finish(served, run_id)
    assert (run.status, run.output) == (RunStatus.COMPLETED, "wrapped")
    (wrapper,) = run.tasks
    assert [(c.key, c.kind) for c in wrapper.children] == [("cb", "request")]


async def test_7_9_two_sequential_callbacks(served: Client) -> None:
    first, second = Submitter(), Submitter()

    @job(served)
    async def approvals(payload: Any, io: IO, ctx: Context) -> Any:
        await io.wait_for_request("first", first)
        return await io.wait_for_request("second", second)

    run_id = await start(served)
    post(first.url, "one")
    assert (await served.execute(run_id)).status is RunStatus.WAITING
    assert len(second.urls) == 1 and second.url != first.url
    post(second.url, "two")
    run = await _finish(served, run_id)
    assert run.output == "two" and [t.key for t in run.tasks] == ["first", "second"]


async def test_7_10_a_wait_a_step_then_a_callback(served: Client) -> None:
    submit = Submitter()

    @job(served)
    async def approval(payload: Any, io: IO, ctx: Context) -> Any:
        await io.wait("pause", seconds=1)
        await io.run_task("step", lambda: {"fixed": True})
        return await io.wait_for_request("cb", submit)

    run = await served.invoke("job", None)
    assert (await served.execute(run.id)).status is RunStatus.WAITING
    assert submit.urls == []
    served.clock.advance(1)  # type: ignore[attr-defined]
    assert (await served.execute(run.id)).status is RunStatus.WAITING
    post(submit.url, "after all")
    done = await _finish(served, run.id)
    assert done.output == "after all"
    assert [t.key for t in done.tasks] == ["pause", "step", "cb"]


async def test_7_11_a_json_object_answer(served: Client) -> None:
    submit = Submitter()

    @job(served)
    async def approval(payload: Any, io: IO, ctx: Context) -> Any:
        body = await io.wait_for_request("cb", submit)
        return body["status"]

    run_id = await start(served)
    post(submit.url, {"status": "approved"})
    run = await _finish(served, run_id)
    assert run.output == "approved"


async def test_7_12_no_heartbeat_within_its_timeout_fails_the_run(served: Client) -> None:
    submit = Submitter()
    _define(served, submit, heartbeat_timeout=5)
    run_id = await start(served, "cb-712")
    await drive_past_timeouts(served, run_id)
    run = await served.get_run(run_id)
    assert run.status is RunStatus.FAILED
    assert run.error is not None and run.error["type"] == "WaitTimeout"
    assert (run.completed_at - run.tasks[0].started_at).total_seconds() < 60


async def test_7_13_a_heartbeat_then_an_answer(served: Client) -> None:
    submit = Submitter()
    _define(served, submit, heartbeat_timeout=10)
    run_id = await start(served, "cb-713")
    served.clock.advance(9)  # type: ignore[attr-defined]
    assert post(submit.url + "/heartbeat", {"ignored": True}).status_code == 200
    served.clock.advance(9)  # type: ignore[attr-defined]
    assert (await served.execute(run_id)).status is RunStatus.WAITING
    post(submit.url, "alive")
    run = await _finish(served, run_id)
    assert (run.status, run.output) == (RunStatus.COMPLETED, "alive")


async def test_7_14_a_caught_timeout_returns_a_recovery_value(served: Client) -> None:
    submit = Submitter()

    @job(served)
    async def approval(payload: Any, io: IO, ctx: Context) -> Any:
        try:
            return await io.wait_for_request("cb", submit, timeout=3)
        except WaitTimeout:
            return "timed-out-handled"

    run_id = await start(served)
    await drive_past_timeouts(served, run_id)
    run = await served.get_run(run_id)
    assert (run.status, run.output) == (RunStatus.COMPLETED, "timed-out-handled")


async def test_7_15_an_answer_of_null_returns_none(served: Client) -> None:
    submit = Submitter()
    _define(served, submit)
    run_id = await start(served, "cb-715")
    answer = post(submit.url, None)  # JSON null; an empty body is {} (docs/api.md)
    assert answer.status_code == 200, answer.text

    run = await _finish(served, run_id)
    assert (run.status, run.output) == (RunStatus.COMPLETED, None)


async def test_7_15_an_empty_answer_is_an_empty_object_as_documented(served: Client) -> None:
    submit = Submitter()
    _define(served, submit)
    run_id = await start(served, "cb-715e")
    assert post(submit.url, raw=b"").status_code == 200

    run = await _finish(served, run_id)
    assert (run.status, run.output) == (RunStatus.COMPLETED, {})
