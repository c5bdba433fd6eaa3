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
from .jobs import EndHook, Job, RunFunction, is_sync_function
from .names import check_name
from .times import checked_seconds
from .triggers import Trigger
from .usage import retention_seconds


def define_job(
    jobs: dict[str, Job],
    id: str,
    *,
    trigger: Trigger,
    name: str | None,
    version: str,
    concurrency_limit: int | None,
    max_duration: float | timedelta | None,
    integrations: Mapping[str, Any] | None,
    enabled: bool,
    run: RunFunction | None,
    retention: timedelta | None | str,
    on_success: EndHook | None,
    on_failure: EndHook | None,
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
    if concurrency_limit is not None and not is_count(concurrency_limit, minimum=1):
        raise ConfigError(
            f"concurrency_limit must be an integer of at least 1, got {concurrency_limit!r}"
        )
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
            concurrency_limit=concurrency_limit,
            max_duration=max_duration,
            integrations=dict(integrations or {}),
            enabled=enabled,
            retention=kept,
            on_success=on_success,
            on_failure=on_failure,
        )
        jobs[id] = job
        return job

    if run is not None:
        return register(run)
    return register
