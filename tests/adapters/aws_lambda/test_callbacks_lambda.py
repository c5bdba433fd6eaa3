"""`io.wait_for_request` through Lambda's HTTP path: an API Gateway v2 event answers the
callback, with no API key, into the same ASGI app."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from lambda_support import FakeContext, http_request, load_event
from support.jobs import make_client
from triggerfish.adapters.aws_lambda import create_handler
from triggerfish.core import IO, Client, Context, RunStatus, SQLiteStore, invoke_trigger

API_KEY = "lambda-test-key"


def test_an_http_api_v2_event_answers_a_callback_and_the_run_resumes(tmp_path: Any) -> None:
    client = make_client(SQLiteStore(tmp_path / "runs.db"), api_key=API_KEY,
                         base_url="https://api.example.com")  # fmt: skip
    urls: list[str] = []

    @client.define_job(id="approval", trigger=invoke_trigger())
    async def approval(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.wait_for_request("approve", urls.append)

    handler = create_handler(client)
    base = load_event("http_api_v2.json")
    started = handler(http_request(base, "POST", "/api/jobs/approval/invoke", {}, api_key=API_KEY),
                      None)  # fmt: skip
    run_id = json.loads(started["body"])["id"]
    first = handler({"action": "execute", "run_id": run_id}, FakeContext(client.clock, 5000))
    assert first["status"] == RunStatus.WAITING.value
    (url,) = urls
    path = url.removeprefix("https://api.example.com")

    def post(body: Any) -> dict[str, Any]:
        event = http_request(base, "POST", path, body, api_key="")
        del event["headers"]["authorization"]
        answer: dict[str, Any] = handler(event, None)
        return answer

    assert post({"ok": 1})["statusCode"] == 200
    assert post({"ok": 2})["statusCode"] == 409
    done = handler({"action": "execute", "run_id": run_id}, FakeContext(client.clock, 5000))
    assert done["status"] == RunStatus.COMPLETED.value
    read = handler(http_request(base, "GET", f"/api/runs/{run_id}", api_key=API_KEY), None)
    assert json.loads(read["body"])["output"] == {"ok": 1}


def _resume(run_id: str) -> dict[str, Any]:
    """The SQS event the worker function gets for a run (it serves no HTTP request)."""
    body = json.dumps({"type": "resume", "run_id": run_id, "at": 0})
    return {"Records": [{"messageId": "m1", "eventSource": "aws:sqs", "body": body}]}


def test_on_the_worker_path_without_a_base_url_the_run_fails_at_the_wait_naming_the_setting(
    tmp_path: Any,
) -> None:
    client = make_client(SQLiteStore(tmp_path / "runs.db"))
    urls: list[str] = []

    @client.define_job(id="approval", trigger=invoke_trigger())
    async def approval(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.wait_for_request("approve", urls.append, timeout=86_400)

    handler = create_handler(client)
    run = asyncio.run(client.invoke("approval", {}))
    answer = handler(_resume(run.id), FakeContext(client.clock, 60_000))

    # Failed by the first invocation, not a day later at the wait's timeout.
    assert answer == {"batchItemFailures": []}
    failed = asyncio.run(client.get_run(run.id))
    assert failed.status is RunStatus.FAILED
    assert failed.invocation_count == 1
    assert "TRIGGERFISH_BASE_URL" in failed.error["message"]
    assert urls == []


def test_on_the_worker_path_callback_urls_use_triggerfish_base_url(
    tmp_path: Any, monkeypatch: Any
) -> None:
    # What serverless.yml and template.yaml set on the worker: the stack's HTTP API URL.
    monkeypatch.setenv("TRIGGERFISH_BASE_URL", "https://abc123.execute-api.eu-west-1.amazonaws.com")
    monkeypatch.setenv("TRIGGERFISH_DB", str(tmp_path / "runs.db"))
    client = Client.from_env("worker")
    urls: list[str] = []

    @client.define_job(id="approval", trigger=invoke_trigger())
    async def approval(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.wait_for_request("approve", urls.append)

    run = asyncio.run(client.invoke("approval", {}))
    create_handler(client)(_resume(run.id), FakeContext(client.clock, 60_000))

    assert asyncio.run(client.get_run(run.id)).status is RunStatus.WAITING
    (url,) = urls
    assert url.startswith("https://abc123.execute-api.eu-west-1.amazonaws.com/api/callbacks/")
