"""Gates a run passes before its function starts: time limits, a slot, resolved integrations.

    killed again and again without progress       -> TIMED_OUT or FAILED (core/crashes.py)
    past the job's max_duration                   -> TIMED_OUT (also before each new task;
                                                     counted from the first start, not queueing)
    no free slot of the job's concurrency_limit   -> QUEUED, woken when a slot frees (slots.py)
    an auth resolver answers None (no connection) -> WAITING_ON_CONNECTIONS, polled
    an auth resolver raises                       -> UNRESOLVED_AUTH (final)
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from .context import Context, EventInfo, JobInfo, RunInfo
from .serialize import describe_error
from .slots import is_stale_holder
from .store.calls import call_store
from .times import to_datetime, utc
from .types import RunStatus

if TYPE_CHECKING:
    from pydantic import BaseModel

    from .jobs import Job
    from .runtime import Runtime
    from .store.base import RunRecord, Store

CONNECTION_POLL_SECONDS = 60.0
"""How often a run WAITING_ON_CONNECTIONS asks its auth resolvers again."""


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
    run_info: dict[str, Any] = {  # in the models' field order: dumps and reprs follow it
        "id": run.id,
        "attempt": run.retries + 1,
        "invocation": run.invocation_count,
        "started_at": to_datetime(run.started_at),
        "is_retry": run.retries > 0,
    }
    event_info: dict[str, Any] = {
        "id": run.event_id,
        "name": run.event_name,
        "timestamp": utc(run.event_timestamp or run.created_at),
    }
    environment, organization = runtime.environment, runtime.organization
    if _is_checked(run, job, environment, organization):
        # Every value is already of its field's type: the four frozen models are built as
        # pydantic's validation would build them, without validating (~5 us per invocation).
        return _built(Context, {
            "run": _built(RunInfo, run_info),
            "job": _built(JobInfo, {"id": job.id, "version": job.version}),
            "environment": environment,
            "organization": organization,
            "event": _built(EventInfo, {**event_info, "context": {}}, _EVENT_INFO_SET),
        })  # fmt: skip
    return Context(
        run=RunInfo.model_validate(run_info),
        job=JobInfo(id=job.id, version=job.version),
        environment=environment,
        organization=organization,
        event=EventInfo.model_validate(event_info),
    )


_EVENT_INFO_SET = frozenset({"id", "name", "timestamp"})
"""The EventInfo fields run_context sets (`context` keeps its default, unset)."""


def _is_checked(run: RunRecord, job: Job, environment: Any, organization: Any) -> bool:
    """Whether the values `ctx` is built from are exactly of their fields' types (a store's
    record always is; a value set by hand on the client or job may not be: validated)."""
    return (
        type(run.id) is str
        and type(run.retries) is int
        and type(run.invocation_count) is int
        and type(run.event_id) in _OPTIONAL_STR
        and type(run.event_name) in _OPTIONAL_STR
        and type(job.id) is str
        and type(job.version) is str
        and type(environment) is str
        and type(organization) in _OPTIONAL_STR
    )


_OPTIONAL_STR = (str, type(None))
_Model = TypeVar("_Model", bound="BaseModel")


def _built(
    cls: type[_Model], values: dict[str, Any], fields_set: frozenset[str] | None = None
) -> _Model:
    """A pydantic model from values of its fields' exact types, as `cls(**values)` would make
    it (the same fields, the same fields set, frozen), without validating them again."""
    model = object.__new__(cls)
    setattr_ = object.__setattr__
    setattr_(model, "__dict__", values)
    setattr_(model, "__pydantic_fields_set__", set(values if fields_set is None else fields_set))
    setattr_(model, "__pydantic_extra__", None)
    setattr_(model, "__pydantic_private__", None)
    return model


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
