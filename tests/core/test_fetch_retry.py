"""`io.background_fetch(retry=...)`: a RetryPolicy, or v2's policies by status pattern
(issue 16 item 8), inline (no fetch worker) and through the worker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from support.http_target import http_target
from support.jobs import make_client
from triggerfish.core import (
    IO,
    Client,
    ConfigError,
    Context,
    RetryPolicy,
    RunStatus,
    TaskStatus,
    invoke_trigger,
)
from triggerfish.core.fetch import FetchMessage, perform_fetch
from triggerfish.core.fetch_retry import checked_fetch_retry, policy_for
from triggerfish.core.testing import drive

FAST = {"limit": 3, "minTimeoutInMs": 10, "maxTimeoutInMs": 20, "randomize": False}


@pytest.fixture
def target() -> Iterator[tuple[str, Any]]:
    with http_target() as served:
        yield served


class ManualDispatcher:
    """Keeps the fetches it is handed; the test performs them."""

    def __init__(self) -> None:
        self.fetches: list[FetchMessage] = []

    async def dispatch(self, run_id: str, at: float) -> None:
        return None

    async def send_fetch(self, message: FetchMessage) -> None:
        self.fetches.append(message)


def define(client: Client, url: str, retry: Any) -> None:
    @client.define_job(id="fetcher", trigger=invoke_trigger())
    async def fetcher(payload: Any, io: IO, ctx: Context) -> Any:
        response = await io.background_fetch("call", f"{url}{payload}", retry=retry)
        return response["status"]


async def run_inline(client: Client, path: str) -> Any:
    run = await client.invoke("fetcher", path)
    await drive(client, run.id)
    return await client.get_run(run.id)


async def test_a_v2_mapping_retries_matched_statuses_by_their_policy(
    store: Any, target: tuple[str, Any]
) -> None:
    url, hits = target
    client = make_client(store)
    define(client, url, {"500-599": {"strategy": "backoff", **FAST},
                         "404": RetryPolicy(limit=2, min_timeout=0.01, randomize=False)})  # fmt: skip

    flaky = await run_inline(client, "/flaky")  # 503 once, then 200
    assert (flaky.status, flaky.output, flaky.tasks[0].attempts) == (RunStatus.COMPLETED, 200, 2)

    missing = await run_inline(client, "/status/404")  # a matched 4xx fails the attempt
    assert missing.status is RunStatus.FAILED
    assert (missing.tasks[0].status, missing.tasks[0].attempts) == (TaskStatus.ERRORED, 2)
    assert hits["/status/404"] == 2
    assert "answered 404" in (missing.error or {})["message"]


async def test_statuses_no_pattern_matches_are_not_retried(
    store: Any, target: tuple[str, Any]
) -> None:
    url, hits = target
    client = make_client(store)
    define(client, url, {"5xx": FAST})

    limited = await run_inline(client, "/status/429")  # fails as today, but not retried
    assert limited.status is RunStatus.FAILED and hits["/status/429"] == 1
    teapot = await run_inline(client, "/status/418")  # unmatched 4xx: returned, as today
    assert (teapot.status, teapot.output) == (RunStatus.COMPLETED, 418)
    down = await run_inline(client, "/status/503")
    assert down.status is RunStatus.FAILED and hits["/status/503"] == 3


async def test_the_worker_retries_by_status_pattern_too(
    sqlite_or_moto_store: Any, target: tuple[str, Any]
) -> None:
    url, hits = target
    dispatcher = ManualDispatcher()
    client = make_client(sqlite_or_moto_store, dispatcher=dispatcher)
    define(client, url, {"429": {"limit": 2, "minTimeoutInMs": 10, "randomize": False}})

    run = await client.invoke("fetcher", "/status/429")
    assert (await client.execute(run.id)).status is RunStatus.WAITING
    (message,) = dispatcher.fetches
    assert message.retry == {"429": RetryPolicy(limit=2, min_timeout=0.01, randomize=False)}
    sent = FetchMessage.model_validate_json(message.model_dump_json())  # as SQS carries it
    await perform_fetch(client, sent)
    (task,) = (await client.get_run(run.id)).tasks
    assert (task.status, task.attempts) == (TaskStatus.WAITING, 1)  # its retry is due later

    client.clock.advance(1)  # type: ignore[attr-defined]
    assert (await client.execute(run.id)).status is RunStatus.WAITING
    await perform_fetch(client, dispatcher.fetches[-1])
    assert (await client.execute(run.id)).status is RunStatus.FAILED
    assert hits["/status/429"] == 2


@pytest.mark.parametrize(
    "retry",
    [
        {"strategy": "backoff"},  # not a mapping of patterns
        {"600": {"limit": 2}},
        {"5x": {"limit": 2}},
        {"500-400": {"limit": 2}},
        {"5xx": {"limit": 0}},
        {"5xx": {"strategy": "headers", "limitHeader": "x-limit"}},
        {"5xx": {"maxAttempts": 3}},
        {"5xx": "often"},
        {},
        3,
        RetryPolicy(retry_on=ValueError),
    ],
)
async def test_anything_else_is_a_config_error_naming_retry(tmp_path: Any, retry: Any) -> None:
    from triggerfish.core import SQLiteStore

    client = make_client(SQLiteStore(tmp_path / "runs.db"))
    define(client, "http://127.0.0.1:9", retry)
    run = await client.invoke("fetcher", "/x")
    await client.execute(run.id)

    failed = await client.get_run(run.id)
    assert failed.status is RunStatus.FAILED and failed.tasks == []  # nothing recorded
    assert failed.error is not None and failed.error["type"] == "ConfigError"
    assert "retry" in failed.error["message"]
    with pytest.raises(ConfigError, match="retry"):
        checked_fetch_retry(retry, where="background_fetch 'call'")


def test_patterns_match_as_v2_matches_them() -> None:
    first, second = RetryPolicy(limit=2), RetryPolicy(limit=3)
    checked = checked_fetch_retry(
        {"401,403": first, "5xx": second, "all": {"limit": 4}}, where="here"
    )
    assert policy_for(checked, 403) is first and policy_for(checked, 599) is second
    assert policy_for(checked, 400) == RetryPolicy(limit=4)  # "all" matches the rest
    assert policy_for(checked, None) == RetryPolicy(limit=4)  # network errors too
    assert policy_for(checked_fetch_retry({"429": first}, where="here"), None) is None
    assert checked_fetch_retry({"5xx": {"minTimeoutInMs": 1500, "maxTimeoutInMs": 3000}},
                               where="here") == {"5xx": RetryPolicy(min_timeout=1.5,
                                                                    max_timeout=3.0)}  # fmt: skip
