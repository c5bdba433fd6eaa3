"""``GET /openapi.json``: the API's OpenAPI 3.1 document, built from the pydantic models.

The request and response schemas are the models the routes validate with and answer
with (`EventBody`, `InvokeBody`, `Run`, `Event`, `Outcome`, ...), and every error status
a route can answer is listed with the `ErrorResponse` shape. A property-based test
(tests/adapters/asgi/test_openapi.py) drives the live server from this document.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import JSONResponse
from triggerfish.core import Event, Outcome, Run, RunList, RunStatus, Schedule, Status
from triggerfish.core.connections import CONNECTION_NAME_PATTERN
from triggerfish.core.runs import MAX_LIST_LIMIT

from .api import DEADLINE_HEADER, DEFAULT_PAGE_SIZE, MAX_DEADLINE_MS
from .bodies import ConnectionBody, EventBody, InvokeBody
from .openapi_fleet import FLEET_BODIES, FLEET_MODELS, fleet_paths


class ErrorDetail(BaseModel):
    """What went wrong: a stable `code`, a readable `message`, and details by code."""

    model_config = ConfigDict(extra="allow")

    code: str
    message: str


class ErrorResponse(BaseModel):
    """Every error the API answers."""

    error: ErrorDetail


class Job(BaseModel):
    """A job as ``GET /api/jobs`` lists it."""

    id: str
    name: str
    version: str
    trigger: dict[str, Any]
    enabled: bool
    concurrency_limit: int | None = None
    max_duration: float | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    shared_concurrency_limit: str | None = None
    concurrency_key: bool | None = None
    rate_limit: dict[str, Any] | None = None
    debounce: dict[str, Any] | None = None
    paused: bool = False


class JobList(BaseModel):
    """Every job the client defines."""

    jobs: list[Job]


class ListedSchedule(Schedule):
    """A schedule as ``GET /api/schedules`` lists it: with its next fire times."""

    model_config = ConfigDict(title="ListedSchedule")

    next_fire_times: list[str] = Field(description="ISO 8601, UTC; none while paused.")


class ScheduleList(BaseModel):
    """Every schedule of the client: declared triggers and stored schedules."""

    schedules: list[ListedSchedule]


class Health(BaseModel):
    """The answer of ``GET /health``."""

    status: str


class CanceledEvent(BaseModel):
    """The answer of ``POST /api/events/{id}/cancel``."""

    id: str
    canceled: bool


_FAIL_BODY_SCHEMA = {
    "type": "object",
    "properties": {"type": {"type": "string"}, "message": {"type": "string"}},
}
class Connection(BaseModel):
    """A connection as ``GET /api/connections`` lists it: never its credentials."""

    name: str
    set: bool
    updated_at: float | None = Field(description="When it was last set (epoch seconds).")
    integrations: list[str] = Field(description='The "job/integration" pairs declaring it.')


class ConnectionList(BaseModel):
    """Every connection the jobs declare or the store holds."""

    connections: list[Connection]


class ConnectionSet(BaseModel):
    """The answer of ``PUT /api/connections/{name}``."""

    name: str
    set: bool
    woken_run_ids: list[str] = Field(description="The runs it woke (WAITING_ON_CONNECTIONS).")


class CanceledRuns(BaseModel):
    """The answer of ``POST /api/events/{id}/cancel-runs``."""

    id: str
    canceled_run_ids: list[str] = Field(
        description="The runs this call canceled (finished runs are left as they were)."
    )


class RunSummary(BaseModel):
    """A run's id, status and output."""

    id: str
    status: RunStatus
    output: Any = None


class RunStatuses(BaseModel):
    """The answer of ``GET /api/runs/{id}/statuses``: the run and its statuses."""

    run: RunSummary
    statuses: list[Status]


class WebhookNoRuns(BaseModel):
    """The answer of a webhook delivery that no job's filter matched."""

    run_ids: list[str]


class CallbackAnswer(BaseModel):
    """The answer of a first ``POST /api/callbacks/{token}`` (or its /fail, /heartbeat)."""

    status: str


_MODELS: list[type[BaseModel]] = [
    EventBody,
    InvokeBody,
    Event,
    Run,
    RunList,
    Outcome,
    JobList,
    Schedule,
    ScheduleList,
    Health,
    CanceledEvent,
    CanceledRuns,
    RunStatuses,
    WebhookNoRuns,
    CallbackAnswer,
    ConnectionBody,
    ConnectionList,
    ConnectionSet,
    ErrorResponse,
    *FLEET_MODELS,
    *FLEET_BODIES,
]
_ID = {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_content(name: str) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": _ref(name)}}}


def _errors(*codes: int) -> dict[str, Any]:
    reasons = {
        400: "The body is not valid JSON.",
        401: "Missing or wrong credentials.",
        404: "No such job, run, event, callback or webhook trigger.",
        409: "The job is disabled, the callback was already answered or timed out, (retry)"
        " the run is not FAILED or TIMED_OUT, or (connections) the server has no"
        " connection key.",
        413: "The body (or the payload as JSON) is over the size limit.",
        422: "A field of the body, query or headers is invalid; `fields` names each.",
    }
    return {
        str(code): {"description": reasons[code], **_json_content("ErrorResponse")}
        for code in codes
    }


def _ok(code: int, description: str, name: str, *, location: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, **_json_content(name)}
    if location:
        response["headers"] = {
            "Location": {"description": "The run's URL.", "schema": {"type": "string"}}
        }
    return {str(code): response}


def _path_id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": _ID}


def _body(name: str, *, required: bool) -> dict[str, Any]:
    return {"required": required, **_json_content(name)}


@cache
def build_openapi() -> dict[str, Any]:
    """The whole document (paths relative to the app's root; ``servers`` adds a prefix)."""
    _, top = models_json_schema(
        [
            (model, "validation" if model in (EventBody, InvokeBody, ConnectionBody, *FLEET_BODIES)
             else "serialization")
            for model in _MODELS
        ],
        ref_template="#/components/schemas/{model}",
    )
    schemas = top["$defs"]
    run_id = [_path_id("run_id")]
    paths: dict[str, Any] = {
        "/health": {
            "get": {
                "operationId": "health",
                "summary": "Liveness; needs no key.",
                "security": [],
                "responses": _ok(200, "The server answers.", "Health"),
            }
        },
        "/api/events": {
            "post": {
                "operationId": "send_event",
                "summary": "Send an event; matching jobs start runs.",
                "requestBody": _body("EventBody", required=True),
                "responses": {
                    **_ok(202, "The event and the runs it started.", "Event"),
                    **_errors(400, 401, 413, 422),
                },
            }
        },
        "/api/events/{event_id}/cancel": {
            "post": {
                "operationId": "cancel_event",
                "summary": "Cancel a delayed event not yet delivered.",
                "parameters": [_path_id("event_id")],
                "responses": {
                    **_ok(200, "Whether it was canceled (false: already delivered or "
                          "canceled).", "CanceledEvent"),
                    **_errors(401, 404, 413),
                },
            }
        },
        "/api/events/{event_id}/cancel-runs": {
            "post": {
                "operationId": "cancel_runs_for_event",
                "summary": "Cancel every unfinished run an event started.",
                "parameters": [_path_id("event_id")],
                "responses": {
                    **_ok(200, "The ids of the runs canceled.", "CanceledRuns"),
                    **_errors(401, 404, 413),
                },
            }
        },
        "/api/callbacks/{token}": {
            "post": {
                "operationId": "receive_callback",
                "summary": "Answer an io.wait_for_request callback; the token is the secret.",
                "security": [],
                "parameters": [_path_id("token")],
                "requestBody": {"required": False,
                                "content": {"application/json": {"schema": {}}}},
                "responses": {
                    **_ok(200, "The waiting run resumes with the body.", "CallbackAnswer"),
                    **_errors(400, 404, 409, 413),
                },
            }
        },
        "/api/callbacks/{token}/fail": {
            "post": {
                "operationId": "fail_callback",
                "summary": "Fail an io.wait_for_request wait: it raises CallbackFailed with "
                "the posted type and message.",
                "security": [],
                "parameters": [_path_id("token")],
                "requestBody": {"required": False, "content": {"application/json": {
                    "schema": _FAIL_BODY_SCHEMA}}},
                "responses": {
                    **_ok(200, "The waiting run resumes and raises.", "CallbackAnswer"),
                    **_errors(400, 404, 409, 413),
                },
            }
        },
        "/api/callbacks/{token}/heartbeat": {
            "post": {
                "operationId": "heartbeat_callback",
                "summary": "Keep alive an io.wait_for_request wait given heartbeat_timeout "
                "(the body is ignored).",
                "security": [],
                "parameters": [_path_id("token")],
                "responses": {
                    **_ok(200, "The wait's heartbeat timeout starts again.", "CallbackAnswer"),
                    **_errors(404, 409),
                },
            }
        },
        "/api/jobs": {
            "get": {
                "operationId": "list_jobs",
                "summary": "Every job of the client.",
                "responses": {**_ok(200, "The jobs.", "JobList"), **_errors(401)},
            }
        },
        "/api/jobs/{job_id}/invoke": {
            "post": {
                "operationId": "invoke_job",
                "summary": "Start a run of a job with a payload.",
                "parameters": [_path_id("job_id")],
                "requestBody": _body("InvokeBody", required=False),
                "responses": {
                    **_ok(
                        202,
                        "The new run (INVALID_PAYLOAD when the schema refuses it).",
                        "Run",
                        location=True,
                    ),
                    **_errors(400, 401, 404, 409, 413, 422),
                },
            }
        },
        "/api/runs": {
            "get": {
                "operationId": "list_runs",
                "summary": "One page of runs, newest first.",
                "parameters": [
                    {"name": "job", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"type": "string", "enum": [s.value for s in RunStatus]},
                    },
                    {
                        "name": "cursor",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "`next_cursor` of the previous page.",
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_LIST_LIMIT,
                            "default": DEFAULT_PAGE_SIZE,
                        },
                    },
                ],
                "responses": {**_ok(200, "The page.", "RunList"), **_errors(401, 422)},
            }
        },
        "/api/runs/{run_id}": {
            "get": {
                "operationId": "get_run",
                "summary": "A run with its task tree and logs.",
                "parameters": run_id,
                "responses": {**_ok(200, "The run.", "Run"), **_errors(401, 404)},
            }
        },
        "/api/runs/{run_id}/statuses": {
            "get": {
                "operationId": "get_run_statuses",
                "summary": "A run's id, status and output with its statuses (io.create_status).",
                "parameters": run_id,
                "responses": {
                    **_ok(200, "The run and its statuses.", "RunStatuses"),
                    **_errors(401, 404),
                },
            }
        },
        "/api/runs/{run_id}/cancel": {
            "post": {
                "operationId": "cancel_run",
                "summary": "Cancel a live run (a finished one is unchanged).",
                "parameters": run_id,
                "responses": {
                    **_ok(200, "The run after the cancel.", "Run"),
                    **_errors(401, 404, 413),
                },
            }
        },
        "/api/runs/{run_id}/retry": {
            "post": {
                "operationId": "retry_run",
                "summary": "Continue a FAILED or TIMED_OUT run: completed tasks kept, failed"
                " ones tried afresh.",
                "parameters": run_id,
                "responses": {
                    **_ok(200, "The run after the retry (PENDING).", "Run"),
                    **_errors(401, 404, 409, 413),
                },
            }
        },
        "/api/runs/{run_id}/execute": {
            "post": {
                "operationId": "execute_run",
                "summary": "One invocation of the run (for an external scheduler).",
                "parameters": [
                    *run_id,
                    {
                        "name": DEADLINE_HEADER,
                        "in": "header",
                        "required": False,
                        "description": "Milliseconds the invocation may take, counted from now.",
                        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_DEADLINE_MS},
                    },
                ],
                "responses": {
                    **_ok(200, "How the invocation ended.", "Outcome"),
                    **_errors(401, 404, 413, 422),
                },
            }
        },
        "/api/connections": {
            "get": {
                "operationId": "list_connections",
                "summary": "Every connection the jobs declare or the store holds; never the"
                " credentials.",
                "responses": {
                    **_ok(200, "The connections, by name.", "ConnectionList"),
                    **_errors(401),
                },
            }
        },
        "/api/connections/{name}": {
            "put": {
                "operationId": "set_connection",
                "summary": "Store a connection's credentials (sealed) and wake the runs"
                " waiting on it.",
                "parameters": [{"name": "name", "in": "path", "required": True,
                                "schema": {"type": "string",
                                           "pattern": CONNECTION_NAME_PATTERN.pattern.join("^$")}}],
                "requestBody": _body("ConnectionBody", required=True),
                "responses": {
                    **_ok(200, "Stored; the runs it woke.", "ConnectionSet"),
                    **_errors(400, 401, 409, 413, 422),
                },
            }
        },
        "/webhooks/{trigger_id}": {
            "post": {
                "operationId": "receive_webhook",
                "summary": "A signed delivery to a webhook trigger; starts a run of every enabled"
                " job on the id whose filter matches (once per delivery).",
                "security": [],
                "parameters": [
                    _path_id("trigger_id"),
                    *[
                        {
                            "name": name,
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string"},
                        }
                        for name in (
                            "X-Hub-Signature-256",
                            "X-Signature",
                            "X-GitHub-Delivery",
                            "X-Request-Id",
                        )
                    ],
                ],
                "requestBody": {"required": False, "content": {"application/json": {"schema": {}}}},
                "responses": {
                    **_ok(
                        202,
                        "The first run of this delivery, with run_ids: every run it started "
                        "(the same runs for a redelivery).",
                        "Run",
                        location=True,
                    ),
                    **_ok(200, "No job's filter matched: no run started.", "WebhookNoRuns"),
                    **_errors(400, 401, 404, 409, 413),
                },
            }
        },
    }
    paths.update(fleet_paths(_ok, _errors, _path_id, _body))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "triggerfish",
            "version": "1",
            "description": "Resumable background jobs: events, runs and invocations.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearerAuth": []}],
    }


async def openapi_json(request: Request) -> JSONResponse:
    """The document, with the app's mount prefix as its server URL."""
    document = dict(build_openapi())
    root_path = request.scope.get("root_path", "")
    document["servers"] = [{"url": root_path or "/"}]
    return JSONResponse(document)
