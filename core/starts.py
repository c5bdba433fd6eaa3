"""Starting runs: one conditional create of the run item, then a dispatch.

Used by the client (invoke, webhooks, schedules) and by events (core/events.py), and so
reachable from inside a run (io.send_event; child runs later) without the `Client`.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from .checks import is_count
from .errors import ConfigError, PayloadTooLarge
from .jobs import validation_error
from .pause_flags import is_job_paused
from .serialize import dump_json, load_json
from .store.base import MAX_PAYLOAD_ROOM_BYTES, MAX_PRIORITY, RunRecord
from .types import RunStatus

if TYPE_CHECKING:
    from .jobs import Job
    from .runtime import Runtime

MAX_PAYLOAD_BYTES = MAX_PAYLOAD_ROOM_BYTES
"""Largest payload (as JSON) a run accepts; it is kept inside the run's item."""


async def create_run(
    runtime: Runtime,
    job: Job,
    payload_json: str,
    *,
    run_id: str,
    event_id: str | None = None,
    event_name: str | None = None,
    event_timestamp: float | None = None,
    event_context_json: str | None = None,
    parent_run_id: str | None = None,
    parent_task_id: str | None = None,
    callback_url: str | None = None,
    priority: int = 0,
    queued_until: float | None = None,
    queued_reason: str | None = None,
    flow_ref: str | None = None,
) -> RunRecord:
    """Creates the run (PENDING, QUEUED when its job is paused, or INVALID_PAYLOAD) unless it
    exists, and dispatches a PENDING one.

    With `queued_until` it is made QUEUED (`queued_reason`) and due then: a debounced or
    batched run (core/debounces.py, core/batches.py), whose payload comes from `flow_ref`.
    An existing run of the same job is returned as it is (a retried start is idempotent);
    one of another job is a ConfigError.
    """
    now = runtime.clock.time()
    status, error = RunStatus.PENDING, None
    try:
        job.parse_payload(load_json(payload_json))
    except ValidationError as exc:
        status, error = RunStatus.INVALID_PAYLOAD, validation_error(exc)
    due_at = None if status.is_final else now
    if queued_until is not None and not status.is_final:
        status, due_at = RunStatus.QUEUED, queued_until
    elif status is RunStatus.PENDING and await is_job_paused(runtime, job.id):
        # In the job's queue, not due, until resume_job (core/pauses.py).
        status, due_at, queued_reason = RunStatus.QUEUED, None, "paused"
    record = RunRecord(
        id=run_id,
        job_id=job.id,
        job_version=job.version,
        status=status,
        created_at=now,
        updated_at=now,
        payload_json=payload_json,
        error=error,
        event_id=event_id,
        event_name=event_name,
        event_timestamp=event_timestamp,
        event_context_json=event_context_json,
        environment=runtime.environment,
        due_at=due_at,
        resume_at=due_at if status is RunStatus.QUEUED else None,
        completed_at=now if status.is_final else None,
        expires_at=runtime.expires_at(job.id, now) if status.is_final else None,
        traceparent=runtime.tracer.traceparent() if runtime.tracer is not None else None,
        parent_run_id=parent_run_id,
        parent_task_id=parent_task_id,
        callback_url=callback_url,
        priority=priority,
        queued_reason=queued_reason if status is RunStatus.QUEUED else None,
        flow_ref=flow_ref,
    )
    store = runtime.store
    if not await runtime.call(store.create_run, record):
        existing = await runtime.call(store.get_run, run_id)
        if existing is not None and existing.job_id != job.id:
            raise ConfigError(
                f"run id {run_id!r} already belongs to a run of job {existing.job_id!r}"
            )
        return existing or record
    if due_at is not None:
        await runtime.dispatch(run_id, due_at)
    return record


def check_priority(priority: object, *, field: str) -> int:
    """`priority` as an int from -MAX_PRIORITY to MAX_PRIORITY, or a ConfigError naming `field`."""
    if not is_count(priority, minimum=-MAX_PRIORITY, maximum=MAX_PRIORITY):
        raise ConfigError(f"{field} must be an integer from {-MAX_PRIORITY} to {MAX_PRIORITY}, "
                          f"got {priority!r}")  # fmt: skip
    return priority  # type: ignore[return-value]


def payload_json(payload: Any) -> str:
    """The payload as JSON text; PayloadTooLarge past MAX_PAYLOAD_BYTES."""
    text = dump_json(payload, key="payload")
    size = len(text.encode())
    if size > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(
            f"payload is {size} bytes as JSON; the limit is {MAX_PAYLOAD_BYTES} bytes"
        )
    return text


def new_run_id() -> str:
    """A fresh random run id."""
    return f"run_{uuid.uuid4().hex[:24]}"


def derived_id(source_id: str, job_id: str) -> str:
    """A run id derived from its cause, so a retried send creates no second run."""
    return "run_" + hashlib.sha256(f"{source_id}\x00{job_id}".encode()).hexdigest()[:24]
