"""`io.wait_for_request`: one callback URL handed to fn once; the first answer resumes the run."""

from __future__ import annotations

from typing import Any

import pytest
from support.jobs import make_client
from triggerfish.core import IO, ConfigError, Context, RunStatus, SQLiteStore, invoke_trigger
from triggerfish.core.callbacks import CallbackAnswer, answer_callback, token_hash
from triggerfish.core.testing import drive
from triggerfish.core.types import TaskStatus


def define(client: Any, urls: list[str], **options: Any) -> None:
    @client.define_job(id="approval", trigger=invoke_trigger())
    async def approval(payload: Any, io: IO, ctx: Context) -> Any:
        async def hand_out(url: str) -> str:
            urls.append(url)
            return "sent"

        body = await io.wait_for_request("approve", hand_out, **options)
        await io.wait("after", seconds=5)  # replays the answered wait without calling fn
        return body


async def test_the_first_answer_resumes_the_run_and_fn_runs_once(store: Any) -> None:
    client = make_client(store, base_url="https://jobs.example.com")
    urls: list[str] = []
    define(client, urls)
    run = await client.invoke("approval", None)

    assert (await client.execute(run.id)).status is RunStatus.WAITING
    assert (await client.execute(run.id)).status is RunStatus.WAITING  # woken early: no new URL
    (url,) = urls
    token = url.removeprefix("https://jobs.example.com/api/callbacks/")
    assert store.get_callback(token_hash(token)) is not None
    assert store.get_callback(token) is None  # only the hash is stored

    assert await answer_callback(client.runtime, "nope", "{}") is CallbackAnswer.UNKNOWN
    assert await answer_callback(client.runtime, token, '{"yes": 1}') is CallbackAnswer.RESUMED
    assert await answer_callback(client.runtime, token, '{"yes": 2}') is CallbackAnswer.USED
    report = await drive(client, run.id)

    assert report.status is RunStatus.COMPLETED
    done = await client.get_run(run.id)
    assert done.output == {"yes": 1} and urls == [url]
    (wait, _after) = done.tasks
    assert (wait.kind, wait.status, [c.key for c in wait.children]) == (
        "request", TaskStatus.COMPLETED, ["send url"])


async def test_no_answer_before_the_timeout_raises_wait_timeout(tmp_path: Any) -> None:
    client = make_client(SQLiteStore(tmp_path / "runs.db"), base_url="http://localhost:8000")
    urls: list[str] = []
    define(client, urls, timeout=60)
    run = await client.invoke("approval", None)

    await drive(client, run.id, skip_timeouts=True)  # else it stops at the wait

    failed = await client.get_run(run.id)
    assert failed.status is RunStatus.FAILED
    assert failed.error["type"] == "WaitTimeout" and "'approve'" in failed.error["message"]
    token = urls[0].rsplit("/", 1)[1]
    assert await answer_callback(client.runtime, token, "{}") is CallbackAnswer.USED


async def test_without_a_base_url_the_run_fails_saying_how_to_set_one(tmp_path: Any) -> None:
    client = make_client(SQLiteStore(tmp_path / "runs.db"))
    urls: list[str] = []
    define(client, urls)
    run = await client.invoke("approval", None)
    await drive(client, run.id)
    failed = await client.get_run(run.id)
    assert failed.status is RunStatus.FAILED and "TRIGGERFISH_BASE_URL" in failed.error["message"]
    assert urls == []


def test_base_url_comes_from_the_environment_and_is_checked(tmp_path: Any) -> None:
    from triggerfish.core import Client

    env = {"TRIGGERFISH_DB": str(tmp_path / "x.db"), "TRIGGERFISH_BASE_URL": "https://a.example"}
    assert Client.from_env(environ=env).base_url == "https://a.example"
    with pytest.raises(ConfigError, match="base_url must start with http"):
        Client("c", store=SQLiteStore(tmp_path / "y.db"), base_url="a.example")
