"""Which kind of Lambda event this is, by its shape (Mangum raises on non-HTTP events)."""

from __future__ import annotations

from enum import Enum
from typing import Any


class EventKind(str, Enum):
    """The event sources the handler answers."""

    HTTP = "http"
    SQS = "sqs"
    SCHEDULE = "schedule"
    DIRECT = "direct"
    UNKNOWN = "unknown"


def kind_of(event: Any) -> EventKind:
    """Classifies an event: API Gateway v1/v2, ALB and function URLs are all HTTP."""
    if not isinstance(event, dict):
        return EventKind.UNKNOWN
    records = event.get("Records")
    if isinstance(records, list) and records and all(
        isinstance(r, dict) and r.get("eventSource") == "aws:sqs" for r in records
    ):
        return EventKind.SQS
    if event.get("source") == "aws.events" or event.get("detail-type") == "Scheduled Event":
        return EventKind.SCHEDULE
    if "action" in event:
        return EventKind.DIRECT
    context = event.get("requestContext")
    if "httpMethod" in event or (isinstance(context, dict) and "http" in context):
        return EventKind.HTTP
    return EventKind.UNKNOWN
