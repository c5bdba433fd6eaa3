"""Request waits answered from outside: /fail raises CallbackFailed, /heartbeat keeps a
`heartbeat_timeout` wait alive (issue 18 item 2), on SQLite and DynamoDB."""

from __future__ import annotations

from typing import Any

from support.jobs import make_client
from triggerfish.core import IO, CallbackFailed, Context, RunStatus, WaitTimeout, invoke_trigger
from triggerfish.core.callbacks import (
    CallbackAnswer,
    answer_callback,
    fail_callback,
    heartbeat_callback,
)
from triggerfish.core.testing import drive


def approval_client(store: Any, **wait_options: Any) -> tuple[Any, list[str], list[Any]]:
    client = make_client(store, base_url="https://jobs.example.com")
    urls: list[str] = []
    seen: list[Any] = []

    @client.define_job(id="approval", trigger=invoke_trigger())
    async def approval(payload: Any, io: IO, ctx: Context) -> Any:
        try:
            answer = await io.wait_for_request("approve", urls.append, **wait_options)
        except CallbackFailed as exc:
            answer = {"failed": exc.error, "key": exc.key}
        except WaitTimeout as exc:
            answer = {"timeout": str(exc)}
        seen.append(answer)
        await io.wait("after", seconds=60)  # the answer is replayed once more
        return answer

    return client, urls, seen


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


async def test_a_fail_post_makes_the_wait_raise_callback_failed_on_every_replay(
    sqlite_or_moto_store: Any,
) -> None:
    client, urls, seen = approval_client(sqlite_or_moto_store)
    run = await client.invoke("approval", None)
    assert (await client.execute(run.id)).status is RunStatus.WAITING
    token = token_of(urls[0])

    error = {"type": "Declined", "message": "the manager said no"}
    assert await fail_callback(client.runtime, token, error) is CallbackAnswer.RESUMED
    assert await fail_callback(client.runtime, token, error) is CallbackAnswer.USED
    assert await answer_callback(client.runtime, token, "{}") is CallbackAnswer.USED
    assert await fail_callback(client.runtime, "unknown", error) is CallbackAnswer.UNKNOWN
    await drive(client, run.id)

    finished = await client.get_run(run.id)
    assert finished.status is RunStatus.COMPLETED
    expected = {"failed": {"type": "Declined", "message": "the manager said no"}, "key": "approve"}
    assert finished.output == expected
    assert seen == [expected, expected]
    assert urls == [urls[0]]


async def test_heartbeats_keep_the_wait_alive_and_a_missed_one_times_it_out(
    sqlite_or_moto_store: Any,
) -> None:
    client, urls, seen = approval_client(sqlite_or_moto_store, timeout=3600, heartbeat_timeout=60)
    clock = client.clock
    run = await client.invoke("approval", None)
    first = await client.execute(run.id)
    assert first.status is RunStatus.WAITING
    started = clock.time()
    assert first.resume_at is not None and first.resume_at - started < 61
    token = token_of(urls[0])

    for _ in range(3):  # 150 s in all, each heartbeat within 60 s of the last
        clock.advance(50)
        assert await heartbeat_callback(client.runtime, token) is CallbackAnswer.ALIVE
        again = await client.execute(run.id)  # woken at the old time: waits again
        assert again.status is RunStatus.WAITING
    assert seen == []

    clock.advance(61)  # no heartbeat for 61 s
    assert await heartbeat_callback(client.runtime, token) is CallbackAnswer.EXPIRED
    await drive(client, run.id)
    finished = await client.get_run(run.id)
    assert finished.status is RunStatus.COMPLETED
    assert "no heartbeat or request arrived within 60 seconds" in finished.output["timeout"]
    assert await heartbeat_callback(client.runtime, token) is CallbackAnswer.USED


async def test_a_heartbeat_never_moves_the_wait_past_its_timeout(sqlite_or_moto_store: Any) -> None:
    client, urls, _ = approval_client(sqlite_or_moto_store, timeout=100, heartbeat_timeout=60)
    run = await client.invoke("approval", None)
    await client.execute(run.id)
    client.clock.advance(50)
    assert await heartbeat_callback(client.runtime, token_of(urls[0])) is CallbackAnswer.ALIVE
    (wait,) = (await client.get_run(run.id)).tasks
    assert wait.resume_at is not None and wait.started_at is not None
    assert (wait.resume_at - wait.started_at).total_seconds() <= 100.001
    await drive(client, run.id, skip_timeouts=True)
    output = (await client.get_run(run.id)).output
    assert "no request arrived within 100 seconds" in output["timeout"]


async def test_a_heartbeat_to_a_wait_without_heartbeat_timeout_changes_nothing(
    sqlite_or_moto_store: Any,
) -> None:
    client, urls, _ = approval_client(sqlite_or_moto_store, timeout=600)
    run = await client.invoke("approval", None)
    await client.execute(run.id)
    before = (await client.get_run(run.id)).tasks[0].resume_at
    assert await heartbeat_callback(client.runtime, token_of(urls[0])) is CallbackAnswer.ALIVE
    assert (await client.get_run(run.id)).tasks[0].resume_at == before
