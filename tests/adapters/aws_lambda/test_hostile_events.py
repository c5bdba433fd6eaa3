"""Malformed and hostile Lambda events (issue 8, items 16, 19, 21): an error answer in the
shape the source expects, never a raised exception, and nothing stored."""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import pytest
from lambda_support import FakeContext, http_request, load_event
from support.jobs import make_client
from triggerfish.adapters.aws_lambda import create_handler
from triggerfish.core import IO, Context, SQLiteStore, event_trigger

API_KEY = "lambda-hostile-key"
HTTP_EVENTS = ["api_gateway_v1.json", "http_api_v2.json", "alb.json", "function_url.json"]


@pytest.fixture
def handler(tmp_path: Any) -> Any:
    client = make_client(SQLiteStore(tmp_path / "runs.db"), api_key=API_KEY)

    @client.define_job(id="hello", trigger=event_trigger("hello"))
    async def hello(payload: Any, io: IO, ctx: Context) -> Any:
        return payload

    return create_handler(client)


def _stored(handler: Any) -> int:
    return len(handler.client.store.list_runs(job_id=None, status=None, limit=10, cursor=None)[0])


def _event(fixture: str, body: Any = None) -> dict[str, Any]:
    return http_request(load_event(fixture), "POST", "/api/events", body, api_key=API_KEY)


def _assert_http_error(response: Any, status: int = 400) -> dict[str, Any]:
    assert isinstance(response, dict) and response["statusCode"] == status, response
    error: dict[str, Any] = json.loads(response["body"])["error"]
    assert error["code"] and error["message"] and "Traceback" not in response["body"]
    return error


def _malformed(fixture: str) -> list[tuple[str, dict[str, Any]]]:
    base = _event(fixture, {"name": "hello", "payload": {}})
    cases = []
    bad_base64 = copy.deepcopy(base)
    bad_base64.update(body="***not base64***", isBase64Encoded=True)
    cases.append(("invalid base64 body", bad_base64))
    no_headers = copy.deepcopy(base)
    no_headers["headers"] = None
    no_headers.pop("multiValueHeaders", None)
    cases.append(("headers null", no_headers))
    body_number = copy.deepcopy(base)
    body_number["body"] = 12
    cases.append(("body a number", body_number))
    if "version" in base:
        no_version = copy.deepcopy(base)
        del no_version["version"]
        cases.append(("missing version", no_version))
    odd_method = copy.deepcopy(base)  # found by reliability/hostile.py: a 500 from the app
    if "rawPath" in base:
        odd_method["requestContext"]["http"]["method"] = {}
    else:
        odd_method["httpMethod"] = [{}]
    cases.append(("method not a string", odd_method))
    context_null = copy.deepcopy(base)
    context_null["requestContext"] = {"http": None} if "rawPath" in base else None
    cases.append(("requestContext broken", context_null))
    return cases


CASES = [(f, name, e) for f in HTTP_EVENTS for name, e in _malformed(f)]


@pytest.mark.parametrize(("fixture", "name", "event"), CASES,
                         ids=[f"{f}-{n}" for f, n, _ in CASES])
def test_malformed_http_events_are_answered_400_not_raised(
    handler: Any, fixture: str, name: str, event: dict[str, Any]
) -> None:
    response = handler(event, FakeContext(handler.client.clock, 29_000))
    if response.get("statusCode") == 401:  # the key did not survive the damage: refused
        return
    _assert_http_error(response)
    assert _stored(handler) == 0


@pytest.mark.parametrize("fixture", HTTP_EVENTS)
def test_deeply_nested_http_body_is_a_400(handler: Any, fixture: str) -> None:
    event = _event(fixture)
    event["body"] = '{"name": "hello", "payload": ' + "[" * 1000 + "]" * 1000 + "}"
    error = _assert_http_error(handler(event, None))
    assert error["code"] == "too_deep"
    assert _stored(handler) == 0


def test_deeply_nested_direct_invocation_is_an_error_answer(handler: Any) -> None:
    payload: Any = []
    for _ in range(2000):
        payload = [payload]
    answer = handler({"action": "send_event", "name": "hello", "payload": payload}, None)
    assert answer["error"]["code"] == "invalid_request", answer
    assert "deep" in answer["error"]["message"]
    assert _stored(handler) == 0


@pytest.mark.parametrize("event_id", ["x" * 257, "a/b", "a b", ""])
def test_direct_send_event_refuses_ids_outside_the_id_rule(handler: Any, event_id: str) -> None:
    answer = handler({"action": "send_event", "name": "hello", "payload": {}, "id": event_id}, None)
    assert answer["error"]["code"] == "invalid_request", answer
    assert _stored(handler) == 0


@pytest.mark.parametrize("records", [None, "x", 3, {}])
def test_records_that_are_not_a_list_are_an_error_answer(handler: Any, records: Any) -> None:
    answer = handler({"Records": records}, None)
    assert answer["error"]["code"] == "unknown_event", answer


def test_a_failed_sqs_record_without_message_id_is_not_reported_as_empty(
    handler: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """An itemIdentifier "" (or any id not in the batch) makes Lambda fail the whole batch."""
    good = {"messageId": "m-1", "eventSource": "aws:sqs", "body": "not ours"}
    anonymous = {"eventSource": "aws:sqs", "body": "not ours either"}
    odd = {"messageId": {"x": 1}, "eventSource": "aws:sqs", "body": "{}"}
    with caplog.at_level(logging.ERROR):
        answer = handler({"Records": [good, anonymous, odd]}, None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert "without a messageId" in caplog.text
