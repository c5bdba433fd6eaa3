"""The Lambda event fixtures in events/ have the shapes AWS sends, so handler tests can trust them.

HTTP events go through Mangum (as the adapter's HTTP path does) to a tiny ASGI app; SQS
and EventBridge events are checked field by field, and Mangum refuses them, which is why
the handler must route them before Mangum (DESIGN.md, Adapters).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from mangum import Mangum
from mangum.handlers import ALB, APIGateway, HTTPGateway
from triggerfish.core.dispatch.sqs import resume_message

EVENTS = Path(__file__).parent / "events"
HTTP_EVENTS = {
    "api_gateway_v1.json": APIGateway,
    "http_api_v2.json": HTTPGateway,
    "function_url.json": HTTPGateway,
    "alb.json": ALB,
}
NON_HTTP_EVENTS = ["sqs_single.json", "sqs_batch.json", "eventbridge_schedule.json"]


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


class _Context:
    """The part of Lambda's context object that Mangum reads."""

    aws_request_id = "8c9d1e3f-5a7b-4c9d-8e1f-3a5b7c9d1e3f"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


async def _health_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers every request with its own method and path, as JSON."""
    body = json.dumps({"method": scope["method"], "path": scope["path"]}).encode()
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def test_every_fixture_in_the_folder_is_covered() -> None:
    assert {path.name for path in EVENTS.glob("*.json")} == set(HTTP_EVENTS) | set(NON_HTTP_EVENTS)


@pytest.mark.parametrize(("name", "handler"), sorted(HTTP_EVENTS.items()))
def test_mangum_recognises_each_http_event_as_its_source(name: str, handler: type) -> None:
    adapter = Mangum(_health_app, lifespan="off")
    assert type(adapter.infer(load_event(name), _Context())) is handler


@pytest.mark.parametrize("name", sorted(HTTP_EVENTS))
def test_each_http_event_reaches_the_app_as_get_health(name: str) -> None:
    response = Mangum(_health_app, lifespan="off")(load_event(name), _Context())
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"method": "GET", "path": "/health"}


@pytest.mark.parametrize("name", NON_HTTP_EVENTS)
def test_mangum_refuses_sqs_and_schedule_events(name: str) -> None:
    with pytest.raises(RuntimeError, match="unable to infer a handler"):
        Mangum(_health_app, lifespan="off").infer(load_event(name), _Context())


@pytest.mark.parametrize(("name", "count"), [("sqs_single.json", 1), ("sqs_batch.json", 3)])
def test_sqs_records_carry_sqs_dispatcher_resume_messages(name: str, count: int) -> None:
    records = load_event(name)["Records"]
    assert len(records) == count
    assert len({record["messageId"] for record in records}) == count
    for record in records:
        assert record["eventSource"] == "aws:sqs"
        assert record["eventSourceARN"].startswith("arn:aws:sqs:eu-west-1:123456789012:")
        assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
        assert int(record["attributes"]["ApproximateReceiveCount"]) >= 1
        message = json.loads(record["body"])
        assert record["body"] == resume_message(message["run_id"], message["at"])
        assert message["run_id"].startswith("run_")


def test_schedule_event_is_an_eventbridge_scheduled_event() -> None:
    event = load_event("eventbridge_schedule.json")
    assert (event["source"], event["detail-type"]) == ("aws.events", "Scheduled Event")
    assert event["resources"][0].startswith("arn:aws:events:eu-west-1:123456789012:rule/")
    assert event["detail"] == {}
