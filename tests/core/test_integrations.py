"""Integrations are tasks (issue 8, item 7): `io.integrations[name]` is a handle whose calls
are recorded once; HttpIntegration against a local HTTP server, auth from the resolver.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from support.http_target import BINARY, http_target
from support.jobs import make_client
from triggerfish.core import IO, Context, RetryPolicy, RunStatus, invoke_trigger
from triggerfish.core.integrations import HttpIntegration, Integration, integration_task
from triggerfish.core.testing import drive


@pytest.fixture
def store(sqlite_or_moto_store: Any) -> Any:
    """SQLite and DynamoDB (moto server) only."""
    return sqlite_or_moto_store


@pytest.fixture
def served() -> Iterator[tuple[str, Counter[str]]]:
    with http_target() as target:
        yield target


class Mailer(Integration):
    """A fake mail integration: counts sends, checks its credentials."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    @integration_task(icon="mail")
    async def send(self, template: str, *, to: str) -> dict[str, Any]:
        self.sent.append((template, to))
        return {"template": template, "to": to, "token": self.credentials}

    def peek(self) -> int:
        return len(self.sent)


async def test_integration_calls_are_tasks_that_replays_do_not_repeat(store: Any) -> None:
    mailer = Mailer()
    client = make_client(store, auth_resolvers={"mail": lambda ctx, integration: "s3cret"})

    @client.define_job(id="mail", trigger=invoke_trigger(), integrations={"mail": mailer})
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        mail = io.integrations["mail"]
        sent = await mail.send("welcome", "welcome", to="a@example.com")
        count = await mail.run_task("count", lambda m: m.peek())
        await io.wait("later", 60)
        again = await mail.run_task("count-again", lambda m: m.peek())
        return [sent, count, again, io.auth["mail"]]

    run = await client.invoke("mail", None)
    report = await drive(client, run.id)
    finished = await client.get_run(run.id)
    assert report.status is RunStatus.COMPLETED
    assert len(report.invocations) == 2
    assert finished.output == [
        {"template": "welcome", "to": "a@example.com", "token": "s3cret"}, 1, 1, "s3cret",
    ]  # fmt: skip
    assert mailer.sent == [("welcome", "a@example.com")]  # once, over two invocations
    tasks = {t.key: t for t in finished.tasks}
    assert tasks["welcome"].name == "mail.send" and tasks["welcome"].icon == "mail"
    assert tasks["count"].name == "mail"


async def test_a_method_that_is_not_a_task_is_refused_with_a_hint(store: Any) -> None:
    client = make_client(store)

    @client.define_job(id="mail", trigger=invoke_trigger(), integrations={"mail": Mailer()})
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        return io.integrations["mail"].peek("k")

    run = await client.invoke("mail", None)
    await drive(client, run.id)
    finished = await client.get_run(run.id)
    assert finished.status is RunStatus.FAILED
    assert "no task method 'peek'" in finished.error["message"]
    assert "run_task" in finished.error["message"]


async def test_http_integration_requests_are_tasks_with_auth_from_the_resolver(
    store: Any, served: tuple[str, Counter[str]]
) -> None:
    url, hits = served
    api = HttpIntegration(url, headers={"X-Client": "triggerfish"})
    client = make_client(store, auth_resolvers={"api": lambda ctx, integration: "t0k3n"})

    @client.define_job(id="api", trigger=invoke_trigger(), integrations={"api": api})
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        http = io.integrations["api"]
        got = await http.get("get", "/echo/get", params={"q": "1"})
        posted = await http.post("post", "/echo/post", json={"a": 1})
        put = await http.put("put", "/echo/put", content=b"\x00\xff")
        deleted = await http.delete("delete", "/echo/delete")
        text = await http.get("text", "/text")
        binary = await http.get("bytes", "/bytes")
        await io.wait("pause", 30)
        return {"got": got, "posted": posted, "put": put, "deleted": deleted, "text": text,
                "binary": binary}  # fmt: skip

    run = await client.invoke("api", None)
    assert (await drive(client, run.id)).status is RunStatus.COMPLETED
    out = (await client.get_run(run.id)).output
    assert out["got"]["path"] == "/echo/get?q=1" and out["got"]["method"] == "GET"
    assert out["got"]["headers"]["authorization"] == "Bearer t0k3n"
    assert out["got"]["headers"]["x-client"] == "triggerfish"
    assert out["posted"]["sent"] == '{"a":1}' or out["posted"]["sent"] == '{"a": 1}'
    assert base64.b64decode(out["put"]["sent_base64"]) == b"\x00\xff"
    assert out["deleted"]["method"] == "DELETE"
    assert out["text"] == "héllo wörld"
    assert base64.b64decode(out["binary"]["body_base64"]) == BINARY
    assert out["binary"]["content_type"] == "application/octet-stream"
    # Two invocations (the wait), yet each request was made once.
    assert hits["/echo/get?q=1"] == 1 and hits["/echo/post"] == 1 and hits["/bytes"] == 1


async def test_http_integration_errors_fail_the_task_and_retry(
    store: Any, served: tuple[str, Counter[str]]
) -> None:
    url, hits = served
    api = HttpIntegration(url, retry=RetryPolicy(2, min_timeout=1, randomize=False),
                          auth_header="X-Api-Key", auth_scheme="")  # fmt: skip
    client = make_client(store, auth_resolvers={"api": lambda ctx, integration: "k3y"})

    @client.define_job(id="api", trigger=invoke_trigger(), integrations={"api": api})
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        await io.integrations["api"].post("flaky", "/flaky", json={"q": 1})
        await io.integrations["api"].get("header", "/echo/h")
        await io.integrations["api"].get("missing", "/status/404")

    run = await client.invoke("api", None)
    await drive(client, run.id)
    finished = await client.get_run(run.id)
    assert finished.status is RunStatus.FAILED
    assert hits["/flaky"] == 2  # 503, then retried: 200
    assert hits["/status/404"] == 2
    tasks = {t.key: t for t in finished.tasks}
    assert tasks["flaky"].output["path"] == "/flaky"
    assert tasks["header"].output["headers"]["x-api-key"] == "k3y"
    assert finished.error["type"] == "HttpError" and "404" in finished.error["message"]
    assert finished.error["task"] == "missing"
