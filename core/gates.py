"""Gates a run passes before its function starts: time limits, a slot, resolved integrations.

    killed MAX_LOST_LEASES times without progress -> TIMED_OUT
    past the job's max_duration                   -> TIMED_OUT (also before each new task;
                                                     counted from the first start, not queueing)
    no free slot of the job's concurrency_limit   -> QUEUED, woken when a slot frees (slots.py)
    an auth resolver answers None (no connection) -> WAITING_ON_CONNECTIONS, polled
    an auth resolver raises                       -> UNRESOLVED_AUTH (final)
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .context import Context, EventInfo, JobInfo, RunInfo
from .serialize import describe_error
from .slots import is_stale_holder
from .store.calls import call_store
from .times import to_datetime, utc
from .types import RunStatus

if TYPE_CHECKING:
    from .jobs import Job
    from .runtime import Runtime
    from .store.base import RunRecord, Store

CONNECTION_POLL_SECONDS = 60.0
"""How often a run WAITING_ON_CONNECTIONS asks its auth resolvers again."""
MAX_LOST_LEASES = 3
"""Invocations killed in a row without a newly completed task before the run is TIMED_OUT."""


def lost_leases_error(lost: int) -> dict[str, Any]:
    """The TIMED_OUT error of a run whose invocations were killed `lost` times in a row."""
    return {
        "type": "TimedOut",
        "message": f"{lost} invocations in a row were killed before their deadline "
        "without completing a task; a task may take longer than one invocation",
    }


def max_duration_error(run: RunRecord, job: Job, now: float) -> dict[str, Any] | None:
    """The TIMED_OUT error of a run past its job's `max_duration`, else None."""
    started = run.started_at or now
    if job.max_duration is not None and now - started > job.max_duration:
        return {
            "type": "TimedOut",
            "message": f"run exceeded the job's max_duration of {job.max_duration} s",
        }
    return None


def run_context(runtime: Runtime, run: RunRecord, job: Job) -> Context:
    """The `ctx` a run function is called with."""
    return Context(
        run=RunInfo(
            id=run.id,
            attempt=run.retries + 1,
            is_retry=run.retries > 0,
            invocation=run.invocation_count,
            started_at=to_datetime(run.started_at),
        ),
        job=JobInfo(id=job.id, version=job.version),
        environment=runtime.environment,
        organization=runtime.organization,
        event=EventInfo(
            id=run.event_id,
            name=run.event_name,
            timestamp=utc(run.event_timestamp or run.created_at),
        ),
    )


async def claim_concurrency_slot(
    store: Store, job: Job, run_id: str, now: float
) -> int | None:
    """A slot of the job's `concurrency_limit` for this run, or None when all are busy.

    A slot still held by a stale holder (a finished run, or one waiting without it: its
    release was lost, or it was canceled) is taken over with a write conditional on it.
    """
    limit = job.concurrency_limit or 0
    for slot in range(limit):
        if await call_store(
            store, store.claim_concurrency_slot, job.id, slot, run_id, previous_holder=None
        ):
            return slot
    for slot in range(limit):
        holder = await call_store(store, store.get_concurrency_holder, job.id, slot)
        if holder is None:
            continue
        held = await call_store(store, store.get_run, holder)
        is_stale = is_stale_holder(held, slot, now)
        if is_stale and await call_store(
            store, store.claim_concurrency_slot, job.id, slot, run_id, previous_holder=holder
        ):
            return slot
    return None


@dataclass
class Integrations:
    """What `io.integrations` and `io.auth` hold for one invocation."""

    clients: dict[str, Any] = field(default_factory=dict)
    auth: dict[str, Any] = field(default_factory=dict)


@dataclass
class Stop:
    """A gate that stops the run before its function starts."""

    status: RunStatus
    error: dict[str, Any] | None = None
    resume_after_seconds: float | None = None


async def resolve_integrations(runtime: Runtime, job: Job, ctx: Context) -> Integrations | Stop:
    """Calls the client's auth resolver of each integration the job uses.

    A resolver is ``resolver(ctx, integration)`` (sync or async) returning credentials,
    or None while the connection does not exist yet. An integration with a
    ``with_auth(credentials)`` method is handed to the run already authenticated.
    """
    resolved = Integrations()
    for name, integration in job.integrations.items():
        resolver = runtime.auth_resolvers.get(name)
        if resolver is None:
            resolved.clients[name] = integration
            continue
        try:
            credentials = resolver(ctx, integration)
            if inspect.isawaitable(credentials):
                credentials = await credentials
        except Exception as exc:  # noqa: BLE001 - a resolver's failure ends the run
            error = describe_error(exc)
            error["message"] = f"auth resolver for integration {name!r} failed: {error['message']}"
            return Stop(RunStatus.UNRESOLVED_AUTH, error=error)
        if credentials is None:
            return Stop(
                RunStatus.WAITING_ON_CONNECTIONS,
                error={
                    "type": "MissingConnection",
                    "message": f"integration {name!r} has no connection yet",
                },
                resume_after_seconds=CONNECTION_POLL_SECONDS,
            )
        with_auth = getattr(integration, "with_auth", None)
        resolved.clients[name] = with_auth(credentials) if callable(with_auth) else integration
        resolved.auth[name] = credentials
    return resolved
