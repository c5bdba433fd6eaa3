"""The Lambda handler over HTTP: the invocation's deadline binds, and HTTP, SQS, HTTP share a loop."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from lambda_support import FakeContext, http_request, load_event
from support.jobs import make_client
from triggerfish.adapters.aws_lambda import create_handler
from triggerfish.core import IO, Context, SQLiteStore, event_trigger, invoke_trigger

API_KEY = "lambda-deadline-key"


def request_to(event: dict[str, Any], method: str, path: str, body: Any = None,
               headers: dict[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
    return http_request(event, method, path, body, api_key=API_KEY, headers=headers)


@pytest.fixture
def handler(tmp_path: Any) -> Any:
    client = make_client(SQLiteStore(tmp_path / "runs.db"), api_key=API_KEY, yield_margin=0.5)
    clock = client.clock

    @client.define_job(id="slow", trigger=invoke_trigger())
    async def slow(payload: Any, io: IO, ctx: Context) -> int:
        for i in range(10):
            # each task takes 2 s of the client's clock
            await io.run_task(f"step-{i}", lambda: clock.advance(2.0))
        return 10

    @client.define_job(id="hello", trigger=event_trigger("hello"))
    async def hello(payload: Any, io: IO, ctx: Context) -> str:
        return await io.run_task("greet", lambda: f"hi {payload['name']}")

    return create_handler(client)


def test_http_execute_on_lambda_respects_the_invocation_deadline(handler: Any) -> None:
    """DESIGN.md, Adapters: 'Deadline from context.get_remaining_time_in_millis()'.

    The api function has a 29 s timeout. An external scheduler calling
    POST /api/runs/{id}/execute through API Gateway without the optional header must still
    not run past the Lambda's own deadline; here the context leaves 5 s for ten 2 s tasks.
    """
    invoked = handler({"action": "invoke", "job_id": "slow", "payload": None}, None)
    base = load_event("http_api_v2.json")
    context = FakeContext(handler.client.clock, 5_000)
    response = handler(request_to(base, "POST", f"/api/runs/{invoked['id']}/execute"), context)
    assert response["statusCode"] == 200, response
    assert context.get_remaining_time_in_millis() > 0, (
        "the HTTP execute ran past the Lambda context's deadline: "
        f"{json.loads(response['body'])}"
    )


def test_http_then_sqs_then_http_on_one_handler(handler: Any) -> None:
    base = load_event("api_gateway_v1.json")
    sent = handler(request_to(base, "POST", "/api/events", {"name": "hello", "payload": {"name": "a"}}),
                   FakeContext(handler.client.clock, 29_000))
    assert sent["statusCode"] == 202, sent
    (run_id,) = json.loads(sent["body"])["run_ids"]
    record = copy.deepcopy(load_event("sqs_single.json")["Records"][0])
    record["body"] = json.dumps({"type": "resume", "run_id": run_id, "at": 0})
    assert handler({"Records": [record]}, FakeContext(handler.client.clock, 10_000)) == {
        "batchItemFailures": []}
    read = handler(request_to(base, "GET", f"/api/runs/{run_id}"), FakeContext(handler.client.clock, 29_000))
    assert read["statusCode"] == 200
    assert json.loads(read["body"])["status"] == "COMPLETED"

