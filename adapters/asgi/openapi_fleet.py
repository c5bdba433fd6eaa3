"""The OpenAPI entries of the fleet operations (issue 19): pausing jobs, bulk cancel and
retry, stored schedules. `openapi.build_openapi` merges them into the document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel


class JobPauseAnswer(BaseModel):
    """The answer of ``POST /api/jobs/{id}/pause`` and ``/resume``."""

    job_id: str
    paused: bool
    changed: bool


FLEET_MODELS: list[type[BaseModel]] = [JobPauseAnswer]
"""Models the fleet routes answer with, added to the document's schemas."""


def fleet_paths(
    ok: Callable[..., dict[str, Any]],
    errors: Callable[..., dict[str, Any]],
    path_id: Callable[[str], dict[str, Any]],
) -> dict[str, Any]:
    """The fleet routes' path items, built with openapi.py's helpers."""
    job_id = [path_id("job_id")]
    return {
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
