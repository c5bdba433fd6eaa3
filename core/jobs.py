"""`Job`: a job definition, made by `Client.define_job`."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from .flow import ConcurrencyLimit, Debounce, KeyFunction, RateLimit
from .records import Record, record
from .triggers import EventTrigger, Trigger

if TYPE_CHECKING:
    from .context import Context

RunFunction = Callable[[Any, Any, "Context"], Awaitable[Any]]
"""`run(payload, io, ctx)`; `io` is a `triggerfish.core.IO`, typed Any here because core/io
imports this module (no import cycle in core/, type-only imports included)."""
EndHook = Callable[[Any], Any]
"""`hook(run)`: sync or async, called with the finished `Run`."""


@record
class Job(Record):
    """What a job is: an id, a version, a trigger and the async `run(payload, io, ctx)`."""

    id: str
    run: RunFunction
    trigger: Trigger
    name: str | None = None
    version: str = "0.0.1"
    concurrency_limit: int | None = None
    max_duration: float | None = None
    integrations: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True
    retention: float | None = None
    """Seconds a finished run is kept; None: the client's; `math.inf`: forever."""
    on_success: EndHook | None = None
    """Called with the `Run` once it ends COMPLETED (core/ends.py: at least once)."""
    on_failure: EndHook | None = None
    """Called with the `Run` once it ends FAILED or TIMED_OUT."""
    shared_limit: ConcurrencyLimit | None = None
    """The shared limit whose slots the job's runs take (`concurrency_limit` is its limit)."""
    concurrency_key: KeyFunction | None = None
    """`concurrency_key(payload)`: the concurrency limit applies per key (core/queues.py)."""
    rate_limit: RateLimit | None = None
    debounce: Debounce | None = None

    @property
    def schema(self) -> type[BaseModel] | None:
        """The payload model of the job's trigger, if any."""
        return self.trigger.schema

    def parse_payload(self, payload: Any) -> Any:
        """The payload as the run function receives it (a model when there is a schema).

        Raises pydantic's ValidationError for a payload that breaks the schema.
        """
        if self.schema is None:
            return payload
        if isinstance(self.trigger, EventTrigger) and self.trigger.batch is not None:
            if not isinstance(payload, list):  # one event's payload, checked before batching
                return self.schema.model_validate(payload)
            return [self.schema.model_validate(item) for item in payload]
        return self.schema.model_validate(payload)

    def describe(self) -> dict[str, Any]:
        """A JSON summary for the API and the dashboard."""
        return {
            "id": self.id,
            "name": self.name or self.id,
            "version": self.version,
            "trigger": self.trigger.describe(),
            "enabled": self.enabled,
            "concurrency_limit": self.concurrency_limit,
            "max_duration": self.max_duration,
            **({"shared_concurrency_limit": self.shared_limit.id} if self.shared_limit else {}),
            **({"concurrency_key": True} if self.concurrency_key else {}),
            **({"rate_limit": {"limit": self.rate_limit.limit,
                               "period": self.rate_limit.period_seconds}}
               if self.rate_limit else {}),
            **({"debounce": {"period": self.debounce.period_seconds,
                             "max_wait": self.debounce.max_wait_seconds}}
               if self.debounce else {}),
        }  # fmt: skip


def is_async_callable(fn: Any) -> bool:
    """True for an async function, a partial of one, or an object with an async __call__."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)  # noqa: B004 - an async __call__ is what is asked
    return call is not None and inspect.iscoroutinefunction(call)


def is_sync_function(fn: Any) -> bool:
    """True for a plain `def` function or method (a lambda may return an awaitable: allowed)."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    if not (inspect.isfunction(fn) or inspect.ismethod(fn)) or is_async_callable(fn):
        return False
    return getattr(fn, "__name__", "") != "<lambda>"


MAX_REPORTED_ISSUES = 50


def validation_error(exc: ValidationError) -> dict[str, Any]:
    """The run's `error` for an invalid payload: pydantic's issues, without the input.

    The payload is already in the run; repeating it in each issue could overflow the item.
    """
    import json

    from .serialize import shorten

    issues = json.loads(exc.json(include_url=False, include_input=False))
    for issue in issues:
        issue["msg"] = shorten(str(issue.get("msg", "")), 1024)
        issue.pop("ctx", None)
    count = len(issues)
    summary = "; ".join(
        f"{'.'.join(str(p) for p in issue['loc']) or '(payload)'}: {issue['msg']}"
        for issue in issues[:MAX_REPORTED_ISSUES]
    )
    return {
        "type": "ValidationError",
        "message": shorten(f"{count} validation error(s) for {exc.title}: {summary}"),
        "issues": issues[:MAX_REPORTED_ISSUES],
    }
