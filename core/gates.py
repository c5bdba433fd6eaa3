"""Gates a run passes before its function starts: time limits, a slot, resolved integrations.

    killed again and again without progress       -> TIMED_OUT or FAILED (core/crashes.py)
    past the job's max_duration                   -> TIMED_OUT (also before each new task;
                                                     counted from the first start, not queueing)
    flow control (rate, debounce, batch, slots)   -> QUEUED, see core/flow_gates.py
    an auth resolver answers None or raises       -> UNRESOLVED_AUTH (final), naming the integration
    a declared connection="name" not stored yet   -> WAITING_ON_CONNECTIONS, not polled: woken
                                                     by client.set_connection (connections.py)
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from .connections import connection_of, read_connection, wait_for_connection
from .context import Context, EventInfo, JobInfo, RunInfo
from .errors import ConfigError
from .serialize import describe_error
from .times import to_datetime, utc
from .types import RunStatus

if TYPE_CHECKING:
    from pydantic import BaseModel

    from .jobs import Job
    from .runtime import Runtime
    from .store.base import RunRecord



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
    if run.event_context_json is not None:  # what the event's sender gave (issue 16)
        event_info["context"] = json.loads(run.event_context_json)
    if _is_checked(run, job, environment, organization):
        # Every value is already of its field's type: the four frozen models are built as
        # pydantic's validation would build them, without validating (~5 us per invocation).
        return _built(Context, {
            "run": _built(RunInfo, run_info),
            "job": _built(JobInfo, {"id": job.id, "version": job.version}),
            "environment": environment,
            "organization": organization,
            "event": _built(EventInfo, {**event_info, "context": event_info.get("context", {})},
                            frozenset(event_info)),
        })  # fmt: skip
    return Context(
        run=RunInfo.model_validate(run_info),
        job=JobInfo(id=job.id, version=job.version),
        environment=environment,
        organization=organization,
        event=EventInfo.model_validate(event_info),
    )


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
    connection: str | None = None
    """The connection a run WAITING_ON_CONNECTIONS waits for."""


async def resolve_integrations(runtime: Runtime, job: Job, ctx: Context) -> Integrations | Stop:
    """The credentials of each integration the job uses, from the client's auth resolver of
    the same name, else from the stored connection the integration declares.

    A resolver is ``resolver(ctx, integration)`` (sync or async) returning credentials; None
    or an exception ends the run UNRESOLVED_AUTH (v2). An integration with a
    ``with_auth(credentials)`` method is handed to the run as what that returns.
    """
    resolved = Integrations()
    for name, integration in job.integrations.items():
        resolver = runtime.auth_resolvers.get(name)
        connection = connection_of(integration)
        if resolver is not None:
            credentials = await _ask_resolver(resolver, ctx, name, integration)
        elif connection is not None:
            credentials = await _open_connection(runtime, name, connection, ctx.run.id)
        else:
            resolved.clients[name] = integration
            continue
        if isinstance(credentials, Stop):
            return credentials
        with_auth = getattr(integration, "with_auth", None)
        resolved.clients[name] = with_auth(credentials) if callable(with_auth) else integration
        resolved.auth[name] = credentials
    return resolved


async def _ask_resolver(resolver: Any, ctx: Context, name: str, integration: Any) -> Any:
    """The resolver's credentials, or the UNRESOLVED_AUTH stop naming the integration."""
    try:
        credentials = resolver(ctx, integration)
        if inspect.isawaitable(credentials):
            credentials = await credentials
    except Exception as exc:  # noqa: BLE001 - a resolver's failure ends the run
        error = describe_error(exc)
        error["message"] = f"auth resolver for integration {name!r} failed: {error['message']}"
        return Stop(RunStatus.UNRESOLVED_AUTH, error=error)
    if credentials is None:
        return Stop(RunStatus.UNRESOLVED_AUTH, error={
            "type": "UnresolvedAuth",
            "message": f"auth resolver for integration {name!r} returned None (no credentials)",
        })  # fmt: skip
    return credentials


async def _open_connection(runtime: Runtime, name: str, connection: str, run_id: str) -> Any:
    """The stored connection's credentials; a wait when it is not stored yet."""
    try:
        credentials = await read_connection(runtime, connection)
    except ConfigError as exc:
        return Stop(RunStatus.UNRESOLVED_AUTH, error={
            "type": "UnresolvedAuth",
            "message": f"integration {name!r}: connection {connection!r}: {exc}",
        })  # fmt: skip
    if credentials is not None:
        return credentials
    await wait_for_connection(runtime, connection, run_id)
    return Stop(
        RunStatus.WAITING_ON_CONNECTIONS,
        error={
            "type": "MissingConnection",
            "message": f"integration {name!r} waits for connection {connection!r}: "
            f"set it with client.set_connection({connection!r}, credentials)",
        },
        connection=connection,
    )
