"""RetryPolicy(retry_on=...): only the named errors are retried; the others fail the task at once."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest
from support.jobs import make_client
from triggerfish.core import (
    IO,
    ConfigError,
    Context,
    RetryPolicy,
    RunStatus,
    SQLiteStore,
    TaskStatus,
    invoke_trigger,
)
from triggerfish.core.testing import drive


class Flaky(Exception):
    pass


class Broken(Exception):
    pass


@pytest.fixture
def client(tmp_path: Any) -> Any:
    return make_client(SQLiteStore(tmp_path / "runs.db"))


async def _attempts_until_the_end(client: Any, errors: list[Exception], retry: RetryPolicy) -> Any:
    calls: list[int] = []

    @client.define_job(id="flaky", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        def call() -> str:
            calls.append(1)
            if len(calls) <= len(errors):
                raise errors[len(calls) - 1]
            return "ok"

        return await io.run_task("call", call, retry=retry)

    run = await client.invoke("flaky", None)
    report = await drive(client, run.id)
    return report.status, len(calls), await client.get_run(run.id)


async def test_errors_of_the_retry_on_types_are_retried(client: Any) -> None:
    retry = RetryPolicy(limit=5, retry_on=(Flaky, TimeoutError), randomize=False)
    status, calls, run = await _attempts_until_the_end(
        client, [Flaky("1"), TimeoutError("2")], retry
    )
    assert (status, calls, run.output) == (RunStatus.COMPLETED, 3, "ok")


async def test_an_error_outside_retry_on_fails_the_task_at_once(client: Any) -> None:
    retry = RetryPolicy(limit=5, retry_on=Flaky, randomize=False)
    status, calls, run = await _attempts_until_the_end(client, [Flaky("1"), Broken("2")], retry)
    assert (status, calls) == (RunStatus.FAILED, 2)
    (task,) = run.tasks
    assert task.status is TaskStatus.ERRORED and task.attempts == 2
    assert run.error["type"] == "Broken" and run.error["task"] == "call"


async def test_a_predicate_decides_per_error(client: Any) -> None:
    retry = RetryPolicy(limit=5, retry_on=lambda exc: "temporary" in str(exc), randomize=False)
    status, calls, run = await _attempts_until_the_end(
        client, [Broken("temporary outage"), Broken("bad card")], retry
    )
    assert (status, calls) == (RunStatus.FAILED, 2)
    assert run.error["message"] == "bad card"


async def test_a_predicate_that_raises_retries_nothing_and_says_why(client: Any) -> None:
    def predicate(exc: BaseException) -> bool:
        raise RuntimeError("predicate bug")

    retry = RetryPolicy(limit=5, retry_on=predicate, randomize=False)
    status, calls, run = await _attempts_until_the_end(client, [Flaky("first")], retry)
    assert (status, calls) == (RunStatus.FAILED, 1)
    assert "retry_on raised RuntimeError: predicate bug" in run.error["message"]


async def test_without_retry_on_every_error_is_retried(client: Any) -> None:
    retry = RetryPolicy(limit=3, randomize=False)
    status, calls, _ = await _attempts_until_the_end(client, [Broken("1"), Flaky("2")], retry)
    assert (status, calls) == (RunStatus.COMPLETED, 3)


@pytest.mark.parametrize(
    ("value", "shown"),
    [("ValueError", "'ValueError'"), (42, "42"), ((ValueError, "x"), "'x'"), ((), "empty tuple"),
     (int, "<class 'int'>")],
)  # fmt: skip
def test_retry_on_is_checked_at_construction(value: Any, shown: str) -> None:
    with pytest.raises(ConfigError, match="retry_on") as caught:
        RetryPolicy(retry_on=value)
    assert shown in str(caught.value)


def test_a_policy_with_retry_on_stays_immutable_and_hashable() -> None:
    policy = RetryPolicy(limit=2, retry_on=[Flaky, Broken])
    assert policy.retry_on == (Flaky, Broken)
    assert hash(policy) == hash(RetryPolicy(limit=2, retry_on=(Flaky, Broken)))
    assert {policy, RetryPolicy(limit=2, retry_on=(Flaky, Broken))} == {policy}
    with pytest.raises(pydantic.ValidationError):
        policy.retry_on = None  # type: ignore[misc]
    assert hash(RetryPolicy(retry_on=callable))


async def test_background_fetch_refuses_retry_on_naming_it(client: Any) -> None:
    @client.define_job(id="fetching", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.background_fetch(
            "get", "http://127.0.0.1:9/", retry=RetryPolicy(retry_on=Flaky)
        )

    run = await client.invoke("fetching", None)
    assert (await drive(client, run.id)).status is RunStatus.FAILED
    failed = await client.get_run(run.id)
    assert failed.error["type"] == "ConfigError" and "retry_on" in failed.error["message"]
