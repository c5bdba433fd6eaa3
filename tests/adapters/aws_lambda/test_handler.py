"""Every event shape AWS delivers, through `handler`: HTTP via Mangum, SQS, schedules, direct."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from typing import Any

import pytest
from lambda_support import FakeContext, http_request, load_event
from support.jobs import make_client
from triggerfish.adapters.aws_lambda import create_handler
from triggerfish.core import IO, Context, RunStatus, SQLiteStore, event_trigger, invoke_trigger

API_KEY = "lambda-test-key"
HTTP_EVENTS = ["api_gateway_v1.json", "http_api_v2.json", "alb.json", "function_url.json"]


@pytest.fixture
def handler(tmp_path: Any) -> Any:
    client = make_client(SQLiteStore(tmp_path / "runs.db"), api_key=API_KEY)

    @client.define_job(id="hello", trigger=event_trigger("hello"))
    async def hello(payload: Any, io: IO, ctx: Context) -> str:
        return await io.run_task("greet", lambda: f"hi {payload['name']}")

    @client.define_job(id="tick", trigger=invoke_trigger())
    async def tick(payload: Any, io: IO, ctx: Context) -> None:
        return None

    return create_handler(client)


def with_request(event: dict[str, Any], method: str, path: str, body: Any = None) -> dict[str, Any]:
    """The fixture event, pointed at another route with a bearer key and a JSON body."""
    return http_request(event, method, path, body, api_key=API_KEY)


@pytest.mark.parametrize("fixture", HTTP_EVENTS)
def test_http_events_reach_the_asgi_app(handler: Any, fixture: str) -> None:
    response = handler(load_event(fixture), FakeContext(handler.client.clock, 29_000))
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"status": "ok"}


@pytest.mark.parametrize("fixture", HTTP_EVENTS)
def test_http_events_drive_the_api_on_one_event_loop(handler: Any, fixture: str) -> None:
    base = load_event(fixture)
    sent = handler(with_request(base, "POST", "/api/events", {"name": "hello", "payload": {"name": "ada"}}), None)
    assert sent["statusCode"] == 202, sent
    (run_id,) = json.loads(sent["body"])["run_ids"]

    executed = handler({"action": "execute", "run_id": run_id}, FakeContext(handler.client.clock, 5000))
    assert executed == {"status": "COMPLETED", "resume_at": None}
    read = handler(with_request(base, "GET", f"/api/runs/{run_id}"), None)
    assert json.loads(read["body"])["output"] == "hi ada"


def test_sqs_fixture_records_for_unknown_runs_are_dropped(handler: Any) -> None:
    result = handler(load_event("sqs_batch.json"), FakeContext(handler.client.clock, 10_000))
    assert result == {"batchItemFailures": []}


def test_sqs_records_that_are_not_ours_are_reported_one_by_one(handler: Any) -> None:
    event = load_event("sqs_batch.json")
    for record in event["Records"]:
        record["body"] = json.dumps({"order": 7})
    result = handler(event, FakeContext(handler.client.clock, 10_000))
    assert result == {
        "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]
    }


def test_sqs_resume_record_executes_the_run(handler: Any) -> None:
    import asyncio

    loop = handler._event_loop()
    event = loop.run_until_complete(handler.client.send_event("hello", {"name": "bo"}))
    record = copy.deepcopy(load_event("sqs_single.json")["Records"][0])
    record["body"] = json.dumps({"type": "resume", "run_id": event.run_ids[0], "at": 0})
    assert handler({"Records": [record]}, FakeContext(handler.client.clock, 10_000)) == {
        "batchItemFailures": []
    }
    run = loop.run_until_complete(handler.client.get_run(event.run_ids[0]))
    assert run.status is RunStatus.COMPLETED
    assert isinstance(loop, asyncio.AbstractEventLoop)


def test_scheduled_event_runs_the_tick(handler: Any) -> None:
    invoked = handler({"action": "invoke", "job_id": "tick", "payload": {}}, None)
    result = handler(load_event("eventbridge_schedule.json"), FakeContext(handler.client.clock, 60_000))
    assert result == {"dispatched": [invoked["id"]]}
    ran = handler({"action": "get_run", "run_id": invoked["id"]}, None)
    assert ran["status"] == "COMPLETED", "without a queue the ticker runs due runs itself"


def test_direct_actions_answer_json(handler: Any) -> None:
    event = handler({"action": "send_event", "name": "hello", "payload": {"name": "cy"}, "id": "e-1"}, None)
    assert event["id"] == "e-1" and len(event["run_ids"]) == 1
    run = handler({"action": "get_run", "run_id": event["run_ids"][0]}, None)
    assert run["status"] == "PENDING" and run["payload"] == {"name": "cy"}


def test_bad_direct_actions_and_unknown_events_get_clear_errors(handler: Any) -> None:
    missing = handler({"action": "invoke"}, None)
    assert missing["error"]["code"] == "invalid_request"
    assert "job_id" in missing["error"]["message"]
    unknown_run = handler({"action": "get_run", "run_id": "run_nope"}, None)
    assert unknown_run["error"]["code"] == "not_found"
    nonsense = handler({"hello": "world"}, None)
    assert nonsense["error"]["code"] == "unknown_event"
    assert "hello" in nonsense["error"]["message"]


def test_the_worker_path_imports_no_starlette_mangum_or_jinja(tmp_path: Any) -> None:
    code = f"""
import sys, asyncio
from triggerfish.core import Client, SQLiteStore, invoke_trigger
from triggerfish.adapters.aws_lambda import create_handler
client = Client("x", store=SQLiteStore({str(tmp_path / 'w.db')!r}))
handler = create_handler(client)
handler({{"Records": [{{"messageId": "1", "body": "{{}}", "eventSource": "aws:sqs"}}]}}, None)
handler({{"source": "aws.events", "detail-type": "Scheduled Event"}}, None)
print(",".join(m for m in ("starlette", "mangum", "jinja2") if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_records_from_another_source_fail_the_invocation_so_the_source_retries(
    handler: Any,
) -> None:
    from triggerfish.adapters.aws_lambda.handler import UnknownEventError

    with pytest.raises(UnknownEventError, match="aws:s3"):
        handler({"Records": [{"eventSource": "aws:s3", "s3": {}}]}, None)
