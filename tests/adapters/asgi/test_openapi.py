"""/openapi.json drives property-based requests at the live server (schemathesis).

No generated request may get a 500, an undocumented status, or a body that breaks the
documented schema. Bounded: a few examples per operation, the whole module in seconds.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

API_KEY = "test-key-0123456789"
MAX_EXAMPLES = int(os.environ.get("OPENAPI_MAX_EXAMPLES", "12"))


NOTHING_TO_NEGATE = {
    "/health", "/webhooks/{trigger_id}", "/api/callbacks/{token}",
    "/api/callbacks/{token}/heartbeat", "/api/jobs/{job_id}/pause", "/api/jobs/{job_id}/resume",
}
"""Every request to these is schema-valid, so there is no negative case to generate."""
OPAQUE_INPUT = {"/api/runs"}
"""`cursor` is an opaque token: a schema-valid string the server never issued is a 422."""

OPERATIONS = [
    ("/health", "GET"),
    ("/api/events", "POST"),
    ("/api/events/{event_id}/cancel", "POST"),
    ("/api/events/{event_id}/cancel-runs", "POST"),
    ("/api/callbacks/{token}", "POST"),
    ("/api/callbacks/{token}/fail", "POST"),
    ("/api/callbacks/{token}/heartbeat", "POST"),
    ("/api/jobs", "GET"),
    ("/api/jobs/{job_id}/invoke", "POST"),
    ("/api/jobs/{job_id}/pause", "POST"),
    ("/api/jobs/{job_id}/resume", "POST"),
    ("/api/schedules", "GET"),
    ("/api/schedules", "POST"),
    ("/api/schedules/{schedule_id}", "GET"),
    ("/api/schedules/{schedule_id}", "DELETE"),
    ("/api/schedules/{schedule_id}/pause", "POST"),
    ("/api/schedules/{schedule_id}/resume", "POST"),
    ("/api/runs/cancel", "POST"),
    ("/api/runs/retry", "POST"),
    ("/api/runs", "GET"),
    ("/api/runs/{run_id}", "GET"),
    ("/api/runs/{run_id}/statuses", "GET"),
    ("/api/runs/{run_id}/cancel", "POST"),
    ("/api/runs/{run_id}/execute", "POST"),
    ("/api/runs/{run_id}/retry", "POST"),
    ("/api/connections", "GET"),
    ("/api/connections/{name}", "PUT"),
    ("/webhooks/{trigger_id}", "POST"),
]


@pytest.fixture(scope="module")
def openapi_schema(live: Any) -> Any:
    return schemathesis.openapi.from_url(f"{live.url}/openapi.json")


def test_the_document_lists_every_route_with_its_error_responses(live: Any) -> None:
    document = httpx.get(f"{live.url}/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {path for path, _ in OPERATIONS}
    assert "401" in document["paths"]["/api/runs"]["get"]["responses"]
    assert document["paths"]["/webhooks/{trigger_id}"]["post"]["security"] == []
    for name in ("Run", "Task", "Event", "Outcome", "RunList", "ErrorResponse", "EventBody"):
        assert name in document["components"]["schemas"]


POSITIVE, NEGATIVE = schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE
CASES = [(path, method, POSITIVE) for path, method in OPERATIONS] + [
    (path, method, NEGATIVE) for path, method in OPERATIONS if path not in NOTHING_TO_NEGATE
]


@pytest.mark.parametrize(("path", "method", "mode"), CASES)
def test_generated_requests_get_documented_answers_and_never_a_500(
    live: Any, openapi_schema: Any, path: str, method: str, mode: Any
) -> None:
    operation = openapi_schema[path][method]
    excluded = [positive_data_acceptance] if path in OPAQUE_INPUT else []
    headers = {"Authorization": f"Bearer {API_KEY}"}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
              database=None)
    def check(case: Any) -> None:
        case.call_and_validate(base_url=live.url, headers=headers, excluded_checks=excluded)

    check()
