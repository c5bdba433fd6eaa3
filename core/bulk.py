"""`client.cancel_runs` and `client.retry_runs`: act on every run a filter matches (issue 19.7).

    filter     job_id, status (one or a list), created_before / created_after (aware
               datetimes; bounds excluded)
    listing    the store's own listing, newest first, one status at a time, BULK_PAGE_SIZE
               runs a page; a page older than created_after ends it
    acting     cancel: each unfinished match, as `client.cancel_run` does (slots released,
               parents told); retry: each FAILED or TIMED_OUT match, as `client.retry_run`
    limit      at most `limit` runs acted on per call (MAX_BULK_RUNS); call again for more

Safe to repeat: a run acted on no longer matches (it is CANCELED, or PENDING again), and one
that another caller changed meanwhile is skipped; each call returns the ids it acted on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .checks import is_count, is_storable_id
from .errors import ConfigError, RunNotRetryable
from .types import RunStatus

if TYPE_CHECKING:
    from .runtime import Runtime

MAX_BULK_RUNS = 1000
"""The most runs one `cancel_runs` or `retry_runs` call acts on (the default `limit`)."""
BULK_PAGE_SIZE = 100
"""Runs read per page of the store's listing while looking for matches."""
CANCELABLE = tuple(s for s in RunStatus if not s.is_final)
RETRYABLE = (RunStatus.FAILED, RunStatus.TIMED_OUT)


def _statuses(status: Any, field: str = "status") -> list[RunStatus] | None:
    """`status` (None, one, or a list of statuses or their names) as RunStatus values."""
    if status is None:
        return None
    given = [status] if isinstance(status, str | RunStatus) else status
    if not isinstance(given, list | tuple | set | frozenset) or not given:
        raise ConfigError(f"{field} must be a run status or a non-empty list of them, "
                          f"got {status!r}")  # fmt: skip
    found: list[RunStatus] = []
    for one in given:
        try:
            value = one if isinstance(one, RunStatus) else RunStatus(str(one).upper())
        except ValueError:
            names = ", ".join(s.value for s in RunStatus)
            raise ConfigError(f"{field} must be one of {names}, got {one!r}") from None
        if value not in found:
            found.append(value)
    return found


def _timestamp(value: Any, field: str) -> float | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ConfigError(f"{field} must be an aware datetime (with a time zone), got {value!r}")
    return value.timestamp()


async def matching_runs(
    runtime: Runtime,
    wanted: Iterable[RunStatus],
    *,
    job_id: str | None,
    status: Any,
    created_before: datetime | None,
    created_after: datetime | None,
    limit: int,
    act: Callable[[str], Awaitable[bool]],
) -> list[str]:
    """Calls `act(run_id)` on each run matching the filter whose status is in `wanted`,
    newest first per status, until `limit` acted (True); returns those ids."""
    if job_id is not None and not isinstance(job_id, str):
        raise ConfigError(f"job_id must be a job id (str) or None, got {job_id!r}")
    if not is_count(limit, minimum=1, maximum=MAX_BULK_RUNS):
        raise ConfigError(f"limit must be a whole number from 1 to {MAX_BULK_RUNS}, got {limit!r}")
    chosen = _statuses(status)
    before = _timestamp(created_before, "created_before")
    after = _timestamp(created_after, "created_after")
    statuses = [s for s in wanted if chosen is None or s in chosen]
    if job_id is not None and not is_storable_id(job_id):
        return []  # no run can have it
    acted: list[str] = []
    for one in statuses:
        cursor: str | None = None
        while len(acted) < limit:
            records, cursor = await runtime.call(
                runtime.store.list_runs, job_id=job_id, status=one, limit=BULK_PAGE_SIZE,
                cursor=cursor,
            )  # fmt: skip
            is_older = False
            for record in records:
                if after is not None and record.created_at <= after:
                    is_older = True  # newest first: every later run is older still
                    break
                if before is not None and record.created_at >= before:
                    continue
                if record.status is one and await act(record.id):
                    acted.append(record.id)
                    if len(acted) >= limit:
                        break
            if is_older or cursor is None:
                break
    return acted


async def cancel_runs(runtime: Runtime, **filters: Any) -> list[str]:
    """Cancels the unfinished runs the filter matches; see the module docstring."""
    from .runs import cancel_record

    async def cancel(run_id: str) -> bool:
        return await cancel_record(runtime, run_id) is not None

    return await matching_runs(runtime, CANCELABLE, act=cancel, **filters)


async def retry_runs(runtime: Runtime, **filters: Any) -> list[str]:
    """Retries the FAILED and TIMED_OUT runs the filter matches; see the module docstring."""
    from .retries import retry_run

    async def retry(run_id: str) -> bool:
        try:
            await retry_run(runtime, run_id)
        except RunNotRetryable:  # retried or canceled by another caller meanwhile
            return False
        return True

    return await matching_runs(runtime, RETRYABLE, act=retry, **filters)
