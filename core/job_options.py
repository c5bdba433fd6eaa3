"""`client.define_job`: its options checked when the job is defined, then the `Job` made.

Every check names the option and what it takes (a `ConfigError` at import time, not a
failed run later).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from .checks import is_count
from .connections import check_connection_name
from .errors import ConfigError
from .flow import ConcurrencyLimit, Debounce, KeyFunction, RateLimit
from .jobs import EndHook, Job, RunFunction, is_sync_function
from .names import check_name
from .times import checked_seconds
from .triggers import EventTrigger, Trigger
from .usage import retention_seconds


def define_job(
    jobs: dict[str, Job],
    id: str,
    *,
    trigger: Trigger,
    name: str | None,
    version: str,
    concurrency_limit: int | ConcurrencyLimit | None,
    max_duration: float | timedelta | None,
    integrations: Mapping[str, Any] | None,
    enabled: bool,
    run: RunFunction | None,
    retention: timedelta | None | str,
    on_success: EndHook | None,
    on_failure: EndHook | None,
    concurrency_key: KeyFunction | None = None,
    rate_limit: RateLimit | None = None,
    debounce: Debounce | None = None,
) -> Any:
    """The `Job` added to `jobs` (with `run`), or a decorator that adds and returns it."""
    check_name(id, field="define_job id")
    for option, value, allows_none in (("name", name, True), ("version", version, False)):
        if not isinstance(value, str) and not (allows_none and value is None):
            raise ConfigError(f"define_job {option} must be a string, got {value!r}")
    if not isinstance(enabled, bool):
        raise ConfigError(f"define_job enabled must be True or False, got {enabled!r}")
    if integrations is not None and not isinstance(integrations, Mapping):
        raise ConfigError(
            "define_job integrations must be a mapping of names to integrations, got "
            f"{type(integrations).__name__}"
        )
    for integration_name, integration in (integrations or {}).items():
        connection = getattr(integration, "connection", None)
        if connection is not None:
            check_connection_name(connection, field=f"of integration {integration_name!r}")
    if id in jobs:
        raise ConfigError(f"a job with id {id!r} is already defined")
    if not isinstance(trigger, Trigger):
        raise ConfigError(f"define_job trigger must be a trigger, got {type(trigger).__name__}")
    shared: ConcurrencyLimit | None = None
    limit: int | None
    if isinstance(concurrency_limit, ConcurrencyLimit):
        shared, limit = concurrency_limit, concurrency_limit.limit
    else:
        limit = concurrency_limit
    if limit is not None and not is_count(limit, minimum=1):
        raise ConfigError(
            "concurrency_limit must be an integer of at least 1 or a shared limit "
            f"(client.define_concurrency_limit), got {concurrency_limit!r}"
        )
    _check_flow_options(id, trigger, limit, concurrency_key, rate_limit, debounce)
    for hook_name, hook in (("on_success", on_success), ("on_failure", on_failure)):
        if hook is not None and not callable(hook):
            raise ConfigError(f"define_job {hook_name} must be callable, got "
                              f"{type(hook).__name__}")  # fmt: skip
    if max_duration is not None:
        try:
            max_duration = checked_seconds(
                max_duration, field=f"job {id!r} max_duration", exclusive_minimum=True
            )
        except ValueError as exc:
            raise ConfigError(str(exc)) from None

    kept = None if retention == "client" else (
        retention_seconds(retention, f"job {id!r} retention") or math.inf
    )

    def register(fn: RunFunction) -> Job:
        if not callable(fn):
            raise ConfigError(f"job {id!r}: run must be an async function, got "
                              f"{type(fn).__name__}")  # fmt: skip
        if is_sync_function(fn):
            raise ConfigError(
                f"job {id!r}: run must be an async function (async def run(payload, io, "
                f"ctx)), got {getattr(fn, '__name__', type(fn).__name__)!r}, which is not"
            )
        job = Job(
            id=id,
            run=fn,
            trigger=trigger,
            name=name,
            version=version,
            concurrency_limit=limit,
            max_duration=max_duration,
            integrations=dict(integrations or {}),
            enabled=enabled,
            retention=kept,
            on_success=on_success,
            on_failure=on_failure,
            shared_limit=shared,
            concurrency_key=concurrency_key,
            rate_limit=rate_limit,
            debounce=debounce,
        )
        jobs[id] = job
        return job

    if run is not None:
        return register(run)
    return register


def _check_flow_options(
    id: str,
    trigger: Trigger,
    concurrency_limit: object,
    concurrency_key: object,
    rate_limit: object,
    debounce: object,
) -> None:
    """The flow control options of define_job (core/flow.py), each of its own type."""
    if concurrency_key is not None and not callable(concurrency_key):
        raise ConfigError(f"job {id!r}: concurrency_key must be a function of the payload, got "
                          f"{concurrency_key!r}")  # fmt: skip
    if concurrency_key is not None and concurrency_limit is None:
        raise ConfigError(f"job {id!r}: concurrency_key needs a concurrency_limit (the limit "
                          "each key gets)")  # fmt: skip
    for option, value, kind in (("rate_limit", rate_limit, RateLimit),
                                ("debounce", debounce, Debounce)):  # fmt: skip
        if value is not None and not isinstance(value, kind):
            raise ConfigError(f"job {id!r}: {option} must be a {kind.__name__}, got "
                              f"{type(value).__name__}")  # fmt: skip
    if debounce is not None and isinstance(trigger, EventTrigger) and trigger.batch is not None:
        raise ConfigError(f"job {id!r}: debounce and an event_trigger batch cannot be combined "
                          "(a batch already makes one run of many events)")  # fmt: skip
