"""The JSON API routes under ``/api`` (DESIGN.md, Adapters; reference in docs/api.md).

Every route here sits behind `BearerAuth`. Each reads and validates its whole input
before it calls the client, so a refused request leaves the store as it was.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from triggerfish.core import Client, ConfigError, RunStatus
from triggerfish.core.connections import check_connection_name, credentials_json
from triggerfish.core.errors import ScheduleNotFound
from triggerfish.core.runs import MAX_LIST_LIMIT
from triggerfish.core.schedule import MAX_FIRE_TIMES
from triggerfish.core.schedules import upcoming

from ..edge import CURSOR_ERRORS, check_cursor
from . import events
from .bodies import ConnectionBody, EventBody, InvokeBody, read_model
from .callbacks import callback_routes
from .errors import APIError, invalid_field
from .fleet_bodies import BulkRunsBody, ScheduleBody
from .openapi_fleet import DEFAULT_FIRE_TIMES

DEADLINE_HEADER = "X-Triggerfish-Deadline-Ms"
"""Milliseconds the caller of ``/execute`` allows the invocation, counted from arrival."""
MAX_DEADLINE_MS = 24 * 3600 * 1000
DEFAULT_PAGE_SIZE = 50
LIST_RUNS_PARAMETERS = frozenset({"job", "status", "cursor", "limit"})


def _client(request: Request) -> Client:
    client: Client = request.app.state.triggerfish_client
    return client


def _json(
    model: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(model.model_dump(mode="json"), status_code=status_code, headers=headers)


def describe_job(job: Any) -> dict[str, Any]:
    """A job for ``GET /api/jobs``: its summary plus the JSON schema of its payload."""
    described: dict[str, Any] = job.describe()
    described["schema"] = None if job.schema is None else job.schema.model_json_schema()
    return described


async def send_event(request: Request) -> JSONResponse:
    body = await read_model(request, EventBody)
    event = await _client(request).send_event(
        body.name, body.payload, id=body.id, timestamp=body.timestamp,
        deliver_at=body.deliver_at, deliver_after=body.deliver_after, priority=body.priority,
        context=body.context,
    )  # fmt: skip
    return _json(event, 202)


async def cancel_event(request: Request) -> JSONResponse:
    """Cancels a delayed event not yet delivered: ``{"id", "canceled"}``; 404 when unknown."""
    event_id = request.path_params["event_id"]
    canceled = await _client(request).cancel_event(event_id)
    return JSONResponse({"id": event_id, "canceled": canceled})


async def cancel_runs_for_event(request: Request) -> JSONResponse:
    """Cancels the unfinished runs an event started: ``{"id", "canceled_run_ids"}``."""
    event_id = request.path_params["event_id"]
    canceled = await _client(request).cancel_runs_for_event(event_id)
    return JSONResponse({"id": event_id, "canceled_run_ids": canceled})


async def invoke_job(request: Request) -> JSONResponse:
    client = _client(request)
    client.get_job(request.path_params["job_id"])
    body = await read_model(request, InvokeBody)
    run = await client.invoke(request.path_params["job_id"], body.payload, id=body.id,
                              priority=body.priority)  # fmt: skip
    location = str(request.url_for("api:get_run", run_id=run.id))
    return _json(run, 202, headers={"Location": location})


async def list_jobs(request: Request) -> JSONResponse:
    client = _client(request)
    jobs = [describe_job(job) for job in client.jobs.values()]
    for job in jobs:
        job["paused"] = await client.is_job_paused(job["id"])
    return JSONResponse({"jobs": jobs})


async def pause_job(request: Request) -> JSONResponse:
    """Pauses a job: ``{"job_id", "paused": true, "changed"}``; 404 for an unknown job."""
    job_id = request.path_params["job_id"]
    changed = await _client(request).pause_job(job_id)
    return JSONResponse({"job_id": job_id, "paused": True, "changed": changed})


async def resume_job(request: Request) -> JSONResponse:
    """Resumes a job and wakes its queued runs: ``{"job_id", "paused": false, "changed"}``."""
    job_id = request.path_params["job_id"]
    changed = await _client(request).resume_job(job_id)
    return JSONResponse({"job_id": job_id, "paused": False, "changed": changed})


async def list_schedules(request: Request) -> JSONResponse:
    """Every schedule (declared and stored; ``?job=``), each with its next fire times
    (``?count=``, 1-100)."""
    for name in request.query_params:
        if name not in ("count", "job"):
            raise invalid_field(["query", name], "is not a parameter; use count, job")
    raw = request.query_params.get("count")
    count = DEFAULT_FIRE_TIMES
    if raw is not None:
        count = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 4 else 0
        if not 1 <= count <= MAX_FIRE_TIMES:
            raise invalid_field(
                ["query", "count"], f"must be an integer from 1 to {MAX_FIRE_TIMES}, got {raw!r}"
            )
    client = _client(request)
    now = client.clock.time()
    schedules = []
    for schedule in await client.list_schedules(request.query_params.get("job") or None):
        shown = schedule.model_dump(mode="json")
        shown["next_fire_times"] = [t.isoformat() for t in upcoming(schedule, now, count)]
        schedules.append(shown)
    return JSONResponse({"schedules": schedules})


async def create_schedule(request: Request) -> JSONResponse:
    """Stores a schedule: 201 with the Schedule; 404 for an unknown job, 422 a bad option."""
    body = await read_model(request, ScheduleBody)
    try:
        schedule = await _client(request).create_schedule(
            body.job_id, cron=body.cron, interval=body.interval, timezone=body.timezone,
            payload=body.payload, id=body.id,
        )  # fmt: skip
    except ConfigError as exc:
        raise APIError(422, "invalid_schedule", str(exc)) from exc
    return _json(schedule, 201)


async def get_schedule(request: Request) -> JSONResponse:
    return _json(await _client(request).get_schedule(request.path_params["schedule_id"]))


async def delete_schedule(request: Request) -> JSONResponse:
    """Deletes a stored schedule: ``{"id", "deleted": true}``; 404 when there is none."""
    schedule_id = request.path_params["schedule_id"]
    if not await _client(request).delete_schedule(schedule_id):
        raise ScheduleNotFound(schedule_id)
    return JSONResponse({"id": schedule_id, "deleted": True})


async def pause_schedule(request: Request) -> JSONResponse:
    return _json(await _client(request).pause_schedule(request.path_params["schedule_id"]))


async def resume_schedule(request: Request) -> JSONResponse:
    return _json(await _client(request).resume_schedule(request.path_params["schedule_id"]))


async def list_runs(request: Request) -> JSONResponse:
    query = request.query_params
    for name in query:
        if name not in LIST_RUNS_PARAMETERS:
            allowed = ", ".join(sorted(LIST_RUNS_PARAMETERS))
            raise invalid_field(["query", name], f"is not a parameter; use {allowed}")
    limit = _limit(query.get("limit"))
    status = _status(query.get("status"))
    try:
        cursor = check_cursor(query.get("cursor"))
    except ValueError as exc:
        raise invalid_field(["query", "cursor"], str(exc)) from exc
    try:
        page = await _client(request).list_runs(
            job_id=query.get("job") or None, status=status, limit=limit, cursor=cursor
        )
    except CURSOR_ERRORS as exc:
        if cursor is None:
            raise
        raise invalid_field(["query", "cursor"], "is not a cursor this API issued") from exc
    return _json(page)


async def get_run(request: Request) -> JSONResponse:
    run = await _client(request).get_run(request.path_params["run_id"])
    return _json(run)


async def get_run_statuses(request: Request) -> JSONResponse:
    statuses = await _client(request).get_run_statuses(request.path_params["run_id"])
    return JSONResponse(statuses)


async def run_events(request: Request) -> Response:
    interval: float = getattr(
            request.app.state, "triggerfish_events_interval", events.DEFAULT_EVENTS_INTERVAL_SECONDS
        )
    return await events.run_events(
        request, _client(request), request.path_params["run_id"], interval_seconds=interval
    )


async def cancel_run(request: Request) -> JSONResponse:
    run = await _client(request).cancel_run(request.path_params["run_id"])
    return _json(run)


async def retry_run(request: Request) -> JSONResponse:
    run = await _client(request).retry_run(request.path_params["run_id"])
    return _json(run)


async def cancel_runs(request: Request) -> JSONResponse:
    """Cancels every unfinished run a filter matches: ``{"run_ids": [...]}``."""
    body = await read_model(request, BulkRunsBody)
    try:
        run_ids = await _client(request).cancel_runs(**body.filters())
    except ConfigError as exc:
        raise APIError(422, "validation_error", str(exc)) from exc
    return JSONResponse({"run_ids": run_ids})


async def retry_runs(request: Request) -> JSONResponse:
    """Retries every FAILED or TIMED_OUT run a filter matches: ``{"run_ids": [...]}``."""
    body = await read_model(request, BulkRunsBody)
    try:
        run_ids = await _client(request).retry_runs(**body.filters())
    except ConfigError as exc:
        raise APIError(422, "validation_error", str(exc)) from exc
    return JSONResponse({"run_ids": run_ids})


async def execute_run(request: Request) -> JSONResponse:
    client = _client(request)
    now = client.clock.time()
    deadline = _deadline(request.headers.get(DEADLINE_HEADER), now=now)
    context = request.scope.get("aws.context")  # Mangum's: on Lambda, its deadline binds too
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        lambda_deadline = now + context.get_remaining_time_in_millis() / 1000.0
        deadline = lambda_deadline if deadline is None else min(deadline, lambda_deadline)
    outcome = await client.execute(request.path_params["run_id"], deadline=deadline)
    return _json(outcome)


async def set_connection(request: Request) -> JSONResponse:
    """Stores a connection's credentials (sealed) and wakes the runs waiting on it:
    ``{"name", "set": true, "woken_run_ids"}``; the credentials are never answered."""
    name = request.path_params["name"]
    try:
        check_connection_name(name)
    except ConfigError as exc:
        raise invalid_field(["path", "name"], str(exc)) from None
    body = await read_model(request, ConnectionBody)
    try:
        credentials_json(body.credentials)
    except ConfigError as exc:
        raise invalid_field(["body", "credentials"], str(exc)) from None
    woken = await _client(request).set_connection(name, body.credentials)
    return JSONResponse({"name": name, "set": True, "woken_run_ids": woken})


async def list_connections(request: Request) -> JSONResponse:
    """Every connection the jobs declare or the store holds, and whether each is set."""
    return JSONResponse({"connections": await _client(request).list_connections()})


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PAGE_SIZE
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise invalid_field(
            ["query", "limit"], f"must be an integer from 1 to {MAX_LIST_LIMIT}, got {raw!r}"
        )
    return limit


def _status(raw: str | None) -> RunStatus | None:
    if raw is None:
        return None
    try:
        return RunStatus(raw.upper())
    except ValueError:
        names = ", ".join(status.value for status in RunStatus)
        raise invalid_field(["query", "status"], f"must be one of {names}, got {raw!r}") from None


def _deadline(raw: str | None, *, now: float) -> float | None:
    """The header's budget as an epoch deadline from `now`; None when absent (no limit)."""
    if raw is None:
        return None
    try:
        budget_ms = int(raw.strip())
    except ValueError:
        budget_ms = 0
    if not 1 <= budget_ms <= MAX_DEADLINE_MS:
        raise invalid_field(
            ["header", DEADLINE_HEADER],
            f"must be an integer of milliseconds from 1 to {MAX_DEADLINE_MS}, got {raw!r}",
        )
    return now + budget_ms / 1000


def api_routes() -> list[BaseRoute]:
    """The routes mounted at ``/api`` (named for ``url_for("api:<name>")``)."""
    return [
        Route("/events", send_event, methods=["POST"], name="send_event"),
        Route("/events/{event_id}/cancel", cancel_event, methods=["POST"], name="cancel_event"),
        Route(
            "/events/{event_id}/cancel-runs",
            cancel_runs_for_event,
            methods=["POST"],
            name="cancel_runs_for_event",
        ),
        *callback_routes(),
        Route("/jobs", list_jobs, methods=["GET"], name="list_jobs"),
        Route("/jobs/{job_id}/invoke", invoke_job, methods=["POST"], name="invoke_job"),
        Route("/jobs/{job_id}/pause", pause_job, methods=["POST"], name="pause_job"),
        Route("/jobs/{job_id}/resume", resume_job, methods=["POST"], name="resume_job"),
        Route("/schedules", list_schedules, methods=["GET"], name="list_schedules"),
        Route("/schedules", create_schedule, methods=["POST"], name="create_schedule"),
        Route("/schedules/{schedule_id}", get_schedule, methods=["GET"], name="get_schedule"),
        Route("/schedules/{schedule_id}", delete_schedule, methods=["DELETE"],
              name="delete_schedule"),
        Route("/schedules/{schedule_id}/pause", pause_schedule, methods=["POST"],
              name="pause_schedule"),
        Route("/schedules/{schedule_id}/resume", resume_schedule, methods=["POST"],
              name="resume_schedule"),
        Route("/runs", list_runs, methods=["GET"], name="list_runs"),
        Route("/runs/cancel", cancel_runs, methods=["POST"], name="cancel_runs"),
        Route("/runs/retry", retry_runs, methods=["POST"], name="retry_runs"),
        Route("/runs/{run_id}", get_run, methods=["GET"], name="get_run"),
        Route("/runs/{run_id}/events", run_events, methods=["GET"], name="run_events"),
        Route(
            "/runs/{run_id}/statuses", get_run_statuses, methods=["GET"], name="get_run_statuses"
        ),
        Route("/runs/{run_id}/cancel", cancel_run, methods=["POST"], name="cancel_run"),
        Route("/runs/{run_id}/execute", execute_run, methods=["POST"], name="execute_run"),
        Route("/runs/{run_id}/retry", retry_run, methods=["POST"], name="retry_run"),
        Route("/connections", list_connections, methods=["GET"], name="list_connections"),
        Route("/connections/{name}", set_connection, methods=["PUT"], name="set_connection"),
    ]
