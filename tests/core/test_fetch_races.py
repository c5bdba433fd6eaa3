"""Races around io.background_fetch, the worker's record and wake, cancel and gather.

Each test was first written in review as a failing proof of a bug.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from support.aws import make_dynamodb_store
from support.http_target import http_target
from support.jobs import make_client
from triggerfish.core import (
    IO,
    Client,
    Context,
    LocalDispatcher,
    RetryPolicy,
    RunStatus,
    SQLiteStore,
    TaskStatus,
    invoke_trigger,
)
from triggerfish.core import wakes as wakes_module
from triggerfish.core.errors import StoreError
from triggerfish.core.fetch import FETCH_RECHECK_SECONDS, FetchMessage, perform_fetch


@pytest.fixture
def target() -> Iterator[tuple[str, Any]]:
    with http_target() as served:
        yield served


class ManualDispatcher:
    """Keeps what it is handed, so a test decides when (and whether) fetches happen."""

    def __init__(self) -> None:
        self.fetches: list[FetchMessage] = []
        self.dispatched: list[tuple[str, float]] = []

    async def dispatch(self, run_id: str, at: float) -> None:
        self.dispatched.append((run_id, at))

    async def send_fetch(self, message: FetchMessage) -> None:
        self.fetches.append(message)


async def wait_until_final(client: Client, run_id: str, *, seconds: float) -> RunStatus:
    status = RunStatus.PENDING
    for _ in range(int(seconds / 0.05)):
        status = (await client.get_run(run_id, tasks=False)).status
        if status.is_final:
            return status
        await asyncio.sleep(0.05)
    return status


# 1 ------------------------------------------------------------------------------------


async def test_fetch_done_while_a_sibling_task_runs_does_not_sleep_until_the_recheck(
    tmp_path: Path, target: tuple[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """gather(background_fetch, a task longer than wake's retry window).

    The worker records the response and tries to wake the run, but the run is still
    leased (its invocation waits in _settle for the sibling). wake() gives up after
    WAKE_ATTEMPTS * WAKE_PAUSE_SECONDS (5 s in production; shrunk here so the sibling
    need only take 0.5 s), the invocation then writes WAITING until now + 120 s, and the
    run sleeps for the whole recheck although its fetch finished long ago.
    """
    monkeypatch.setattr(wakes_module, "WAKE_ATTEMPTS", 3)
    monkeypatch.setattr(wakes_module, "WAKE_PAUSE_SECONDS", 0.05)
    url, _ = target
    client = make_client(SQLiteStore(tmp_path / "runs.db"))
    client.dispatcher = LocalDispatcher(client)

    @client.define_job(id="both", trigger=invoke_trigger())
    async def both(payload: Any, io: IO, ctx: Context) -> Any:
        async def slow() -> str:
            await asyncio.sleep(0.5)
            return "slow"

        answer, slow_result = await asyncio.gather(
            io.background_fetch("f", f"{url}/ok"), io.run_task("slow", slow)
        )
        return {"status": answer["status"], "slow": slow_result}

    try:
        run = await client.invoke("both", None)
        status = await wait_until_final(client, run.id, seconds=3.0)
    finally:
        await client.dispatcher.stop()
    finished = await client.get_run(run.id)
    fetch_task = next(t for t in finished.tasks if t.key == "f")
    assert fetch_task.status is TaskStatus.COMPLETED, "the worker did record the response"
    assert status is RunStatus.COMPLETED, (
        f"run is {status.value} until its {FETCH_RECHECK_SECONDS:.0f} s recheck although "
        "its fetch completed"
    )


# 2 ------------------------------------------------------------------------------------


async def test_a_lost_fetch_message_does_not_use_up_a_retry_attempt(
    store: Any, target: tuple[str, Any]
) -> None:
    """RetryPolicy(limit=2): two real attempts. The first message is lost (never performed);
    the recheck re-sends it as attempt 2, so the one real request that fails (503) is
    already the last attempt and the task ends ERRORED after a single try."""
    url, hits = target
    dispatcher = ManualDispatcher()
    client = make_client(store, dispatcher=dispatcher)

    @client.define_job(id="flaky", trigger=invoke_trigger())
    async def flaky(payload: Any, io: IO, ctx: Context) -> Any:
        answer = await io.background_fetch(
            "call", f"{url}/flaky", retry=RetryPolicy(limit=2, min_timeout=0.05, randomize=False)
        )
        return answer["status"]

    run = await client.invoke("flaky", None)
    await client.execute(run.id)
    assert len(dispatcher.fetches) == 1
    dispatcher.fetches.clear()  # lost: SQS dropped it / the worker died before the request

    client.clock.advance(FETCH_RECHECK_SECONDS + 1)  # type: ignore[attr-defined]
    await client.execute(run.id)
    (resent,) = dispatcher.fetches
    await perform_fetch(client, resent)  # the one real attempt: 503

    assert hits["/flaky"] == 1
    (task,) = (await client.get_run(run.id)).tasks
    assert task.status is not TaskStatus.ERRORED, (
        f"one failed request of a limit-2 policy ended the task (attempts={task.attempts})"
    )


# 3 ------------------------------------------------------------------------------------


async def test_a_fetch_recorded_while_the_run_replays_is_used_not_sent_again(
    store: Any, target: tuple[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run wakes at its recheck while the (slow) worker is finishing: the invocation
    loads history (WAITING attempt 1), the worker records COMPLETED, the invocation's
    write of attempt 2 then loses. background_fetch ignores _record's answer (the
    COMPLETED record), sends a second, useless message and suspends for another 120 s
    instead of returning the recorded response."""
    url, _ = target
    dispatcher = ManualDispatcher()
    client = make_client(store, dispatcher=dispatcher)

    @client.define_job(id="once", trigger=invoke_trigger())
    async def once(payload: Any, io: IO, ctx: Context) -> Any:
        return (await io.background_fetch("call", f"{url}/ok"))["status"]

    run = await client.invoke("once", None)
    await client.execute(run.id)
    (first,) = dispatcher.fetches
    client.clock.advance(FETCH_RECHECK_SECONDS + 1)  # type: ignore[attr-defined]

    load_history = store.load_history

    def load_then_worker_records(run_id: str) -> Any:
        history = load_history(run_id)
        current = store.get_task(run_id, first.task_id)
        done = replace(current, status=TaskStatus.COMPLETED, resume_at=None,
                       output_json='{"status": 200, "headers": {}, "body": ""}',
                       completed_at=client.clock.time())  # fmt: skip
        assert store.put_task(done)
        return history

    monkeypatch.setattr(store, "load_history", load_then_worker_records)
    outcome = await client.execute(run.id)
    monkeypatch.setattr(store, "load_history", load_history)

    assert outcome.status is RunStatus.COMPLETED, (
        f"run {outcome.status.value} until {outcome.resume_at} though its fetch is recorded"
    )
    assert len(dispatcher.fetches) == 1, "a second fetch message was sent for a completed task"


# 4 ------------------------------------------------------------------------------------


async def test_a_fetch_of_a_canceled_run_is_not_performed(
    store: Any, target: tuple[str, Any]
) -> None:
    """cancel_run: "No new task starts after that". A fetch message still queued when
    the run is canceled is performed anyway (a POST with side effects after cancel)."""
    url, hits = target
    dispatcher = ManualDispatcher()
    client = make_client(store, dispatcher=dispatcher)

    @client.define_job(id="post", trigger=invoke_trigger())
    async def post(payload: Any, io: IO, ctx: Context) -> Any:
        return (await io.background_fetch("charge", f"{url}/ok", method="POST", body="x"))["status"]

    run = await client.invoke("post", None)
    await client.execute(run.id)
    (queued,) = dispatcher.fetches
    await client.cancel_run(run.id)

    await perform_fetch(client, queued)
    assert hits["/ok"] == 0, "the worker performed the request of a canceled run"


# 5 ------------------------------------------------------------------------------------


async def test_no_task_of_a_gather_sibling_runs_after_the_invocation_ended(
    store: Any, target: tuple[str, Any]
) -> None:
    """gather(background_fetch, a coroutine that awaits something before its first task).

    _settle only waits for siblings that are inside run_task at that moment; this one is
    not yet, so the invocation writes WAITING and releases the lease, and the orphaned
    coroutine then starts and records a task with no lease (lease.check does not re-read
    within CANCEL_CHECK_SECONDS) - possibly beside the next invocation running it too."""
    url, _ = target
    dispatcher = ManualDispatcher()
    client = make_client(store, dispatcher=dispatcher)
    ran_after_end: list[str] = []
    ended = asyncio.Event()

    @client.define_job(id="orphan", trigger=invoke_trigger())
    async def orphan(payload: Any, io: IO, ctx: Context) -> Any:
        async def later() -> Any:
            await asyncio.sleep(0.2)  # e.g. user I/O before the first task

            def side_effect() -> str:
                if ended.is_set():
                    ran_after_end.append("side")
                return "done"

            return await io.run_task("side", side_effect)

        return await asyncio.gather(io.background_fetch("f", f"{url}/ok"), later())

    run = await client.invoke("orphan", None)
    outcome = await client.execute(run.id)
    ended.set()
    await asyncio.sleep(0.6)

    assert outcome.status is RunStatus.WAITING
    assert ran_after_end == [], "a task ran (and was recorded) after the lease was released"


# 6 ------------------------------------------------------------------------------------


async def test_a_store_failure_in_gather_leaves_no_sibling_running(
    store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """gather(task a whose record hits a StoreError, slow task b). _StoreAbort is neither
    Suspend nor Exception, so _start skips _settle: execute releases the lease (due again in
    5 s) and returns while b is still running, unowned; it then records its result."""
    client = make_client(store)
    b_state: list[str] = []

    @client.define_job(id="par", trigger=invoke_trigger())
    async def par(payload: Any, io: IO, ctx: Context) -> Any:
        async def slow() -> str:
            b_state.append("started")
            await asyncio.sleep(0.3)
            b_state.append("finished")
            return "b"

        return await asyncio.gather(io.run_task("a", lambda: "a"), io.run_task("b", slow))

    put_task = store.put_task

    def failing_put_task(task: Any) -> bool:
        if task.key == "a":
            raise StoreError("throttled")
        return put_task(task)

    monkeypatch.setattr(store, "put_task", failing_put_task)
    run = await client.invoke("par", None)
    await client.execute(run.id)
    state_at_return = list(b_state)
    await asyncio.sleep(0.5)

    assert state_at_return != ["started"], (
        "execute returned (lease released) while sibling task b was still running"
    )


# 7 ------------------------------------------------------------------------------------


async def test_waking_a_run_canceled_while_leased_is_unchanged_not_leased(store: Any) -> None:
    """cancel_run leaves lease_owner in place and the canceled invocation's end write is
    fenced out, so a canceled run keeps its lease_owner. wake_run answers "leased" for it,
    and every fetch worker for it then spins WAKE_ATTEMPTS * WAKE_PAUSE_SECONDS (5 s)."""
    client = make_client(store)

    @client.define_job(id="j", trigger=invoke_trigger())
    async def j(payload: Any, io: IO, ctx: Context) -> Any:
        return None

    run = await client.invoke("j", None)
    now = client.clock.time()
    assert store.acquire_lease(run.id, owner="inv", now=now, lease_expires_at=now + 60,
                               expired_owner=None) is not None  # fmt: skip
    await client.cancel_run(run.id)

    assert store.wake_run(run.id, at=now) == "unchanged"


# 8 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("server", ["moto", "dynalite"])
async def test_a_response_too_large_for_the_store_fails_the_fetch_task(
    server: str, request: pytest.FixtureRequest
) -> None:
    """DynamoDB without a bucket (SQLite has no item limit): the store's OutputError must
    end the fetch task ERRORED, not leave it WAITING to be re-sent at every recheck."""
    store = make_dynamodb_store(request.getfixturevalue(f"{server}_url"))
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Big(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            raw = b"x" * (400 * 1024)
            self.send_response(200)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Big)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/big"
    try:
        dispatcher = ManualDispatcher()
        client = make_client(store, dispatcher=dispatcher)

        @client.define_job(id="big", trigger=invoke_trigger())
        async def big(payload: Any, io: IO, ctx: Context) -> Any:
            return len((await io.background_fetch("call", url))["body"])

        run = await client.invoke("big", None)
        await client.execute(run.id)
        (message,) = dispatcher.fetches
        try:
            await perform_fetch(client, message)
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"perform_fetch raised {type(exc).__name__}: the message is redelivered "
                        "forever and the task stays WAITING")
    finally:
        server.shutdown()
        server.server_close()
    (task,) = (await client.get_run(run.id)).tasks
    assert task.status is TaskStatus.ERRORED


# 9 ------------------------------------------------------------------------------------


async def test_gather_with_return_exceptions_does_not_swallow_the_suspension(
    store: Any, target: tuple[str, Any]
) -> None:
    """asyncio.gather(..., return_exceptions=True) returns a Suspend (any BaseException
    but KeyboardInterrupt/SystemExit) as a result: the run carries on without the
    response and completes while its fetch is still in flight."""
    url, _ = target
    dispatcher = ManualDispatcher()
    client = make_client(store, dispatcher=dispatcher)

    @client.define_job(id="g", trigger=invoke_trigger())
    async def g(payload: Any, io: IO, ctx: Context) -> Any:
        results = await asyncio.gather(io.background_fetch("f", f"{url}/ok"),
                                       return_exceptions=True)  # fmt: skip
        return [type(r).__name__ for r in results]

    run = await client.invoke("g", None)
    outcome = await client.execute(run.id)
    assert outcome.status is RunStatus.WAITING, (
        f"run {outcome.status.value} with output {(await client.get_run(run.id)).output}"
    )
