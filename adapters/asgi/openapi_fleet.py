"""The OpenAPI entries of the fleet operations (issue 19): pausing jobs, bulk cancel and
retry, stored schedules. `openapi.build_openapi` merges them into the document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from triggerfish.core.schedule import MAX_FIRE_TIMES

from .fleet_bodies import BulkRunsAnswer, BulkRunsBody, ScheduleBody

DEFAULT_FIRE_TIMES = 5
"""How many next fire times ``GET /api/schedules`` lists per schedule without ``?count=``."""


class DeletedSchedule(BaseModel):
    """The answer of ``DELETE /api/schedules/{id}``."""

    id: str
    deleted: bool


class JobPauseAnswer(BaseModel):
    """The answer of ``POST /api/jobs/{id}/pause`` and ``/resume``."""

    job_id: str
    paused: bool
    changed: bool


FLEET_MODELS: list[type[BaseModel]] = [JobPauseAnswer, BulkRunsAnswer, DeletedSchedule]
FLEET_BODIES: list[type[BaseModel]] = [BulkRunsBody, ScheduleBody]
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
    schedule_id = [path_id("schedule_id")]
    one_schedule = {**ok(200, "The schedule.", "Schedule"), **errors(401, 404, 409, 413)}
    bulk = {
        "requestBody": body("BulkRunsBody", required=False),
        "responses": {
            **ok(200, "The ids acted on.", "BulkRunsAnswer"), **errors(400, 401, 413, 422)
        },
    }
    return {
        "/api/schedules": {
            "get": {
                "operationId": "list_schedules",
                "summary": "Every schedule (declared triggers and stored schedules) with its "
                "next fire times.",
                "parameters": [
                    {"name": "job", "in": "query", "schema": {"type": "string"},
                     "description": "Only the schedules of this job."},
                    {"name": "count", "in": "query", "description": "How many next fire "
                     "times per schedule.", "schema": {"type": "integer", "minimum": 1,
                     "maximum": MAX_FIRE_TIMES, "default": DEFAULT_FIRE_TIMES}},
                ],
                "responses": {**ok(200, "The schedules.", "ScheduleList"), **errors(401, 422)},
            },
            "post": {
                "operationId": "create_schedule",
                "summary": "Store a schedule of a job (cron or interval); an id of your own "
                "makes it idempotent.",
                "requestBody": body("ScheduleBody", required=True),
                "responses": {
                    **ok(201, "The schedule.", "Schedule"), **errors(400, 401, 404, 413, 422)
                },
            },
        },
        "/api/schedules/{schedule_id}": {
            "get": {"operationId": "get_schedule", "summary": "One stored schedule.",
                    "parameters": schedule_id, "responses": one_schedule},
            "delete": {
                "operationId": "delete_schedule",
                "summary": "Delete a stored schedule (its runs are kept).",
                "parameters": schedule_id,
                "responses": {**ok(200, "Deleted.", "DeletedSchedule"),
                              **errors(401, 404, 409, 413)},
            },
        },
        "/api/schedules/{schedule_id}/pause": {
            "post": {"operationId": "pause_schedule", "summary": "Stop a stored schedule "
                     "firing until resumed.", "parameters": schedule_id,
                     "responses": one_schedule},
        },
        "/api/schedules/{schedule_id}/resume": {
            "post": {"operationId": "resume_schedule", "summary": "Let a paused schedule "
                     "fire again from its next slot.", "parameters": schedule_id,
                     "responses": one_schedule},
        },
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
