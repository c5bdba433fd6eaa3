"""The OpenAPI entries of the fleet operations (issue 19): pausing jobs, bulk cancel and
retry, stored schedules. `openapi.build_openapi` merges them into the document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from .fleet_bodies import BulkRunsAnswer, BulkRunsBody


class JobPauseAnswer(BaseModel):
    """The answer of ``POST /api/jobs/{id}/pause`` and ``/resume``."""

    job_id: str
    paused: bool
    changed: bool


FLEET_MODELS: list[type[BaseModel]] = [JobPauseAnswer, BulkRunsAnswer]
FLEET_BODIES: list[type[BaseModel]] = [BulkRunsBody]
"""Request bodies (their validation schema)."""
"""Models the fleet routes answer with, added to the document's schemas."""


def fleet_paths(
    ok: Callable[..., dict[str, Any]],
    errors: Callable[..., dict[str, Any]],
    path_id: Callable[[str], dict[str, Any]],
    body: Callable[..., dict[str, Any]],
) -> dict[str, Any]:
    """The fleet routes' path items, built with openapi.py's helpers."""
    job_id = [path_id("job_id")]
    bulk = {
        "requestBody": body("BulkRunsBody", required=False),
        "responses": {
            **ok(200, "The ids acted on.", "BulkRunsAnswer"), **errors(400, 401, 413, 422)
        },
    }
    return {
        "/api/runs/cancel": {
            "post": {
                "operationId": "cancel_runs",
                "summary": "Cancel every unfinished run a filter matches (job, status, "
                "creation time).",
                **bulk,
            }
        },
        "/api/runs/retry": {
            "post": {
                "operationId": "retry_runs",
                "summary": "Retry every FAILED or TIMED_OUT run a filter matches.",
                **bulk,
            }
        },
        "/api/jobs/{job_id}/pause": {
            "post": {
                "operationId": "pause_job",
                "summary": "Pause a job: new runs wait QUEUED, running ones stop at their next"
                " invocation.",
                "parameters": job_id,
                "responses": {
                    **ok(200, "The job's state.", "JobPauseAnswer"), **errors(401, 404, 413)
                },
            }
        },
        "/api/jobs/{job_id}/resume": {
            "post": {
                "operationId": "resume_job",
                "summary": "Resume a paused job; its queued runs start, oldest first.",
                "parameters": job_id,
                "responses": {
                    **ok(200, "The job's state.", "JobPauseAnswer"), **errors(401, 404, 413)
                },
            }
        },
    }
