"""Reading and steering runs: `client.get_run`, `list_runs` and `cancel_run`, over the runtime.

The API models are imported on first use (`build_run`), so a worker that only executes
runs never builds them (docs/performance.md, section 5).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import ends
from .checks import check_run_id, is_count, is_storable_id
from .errors import ConfigError, RunNotFound
from .slots import release_slot
from .types import RunStatus

if TYPE_CHECKING:
    from .models import Run, RunList
    from .runtime import Runtime
    from .store.base import History, RunRecord

MAX_LIST_LIMIT = 1000
"""The most runs one page of `list_runs` holds."""


def build_run(record: RunRecord, history: History | None) -> Run:
    """`views.build_run`, imported on first use: the API models stay off a worker's path."""
    from .views import build_run as build

    return build(record, history)


async def get_run(runtime: Runtime, run_id: str, *, tasks: bool = True) -> Run:
    """The run with its task tree and logs (without them when `tasks` is False)."""
    check_run_id(run_id)
    record = await runtime.call(runtime.store.get_run, run_id)
    if record is None:
        raise RunNotFound(run_id)
    history = await runtime.call(runtime.store.load_history, run_id) if tasks else None
    return build_run(record, history)


async def list_runs(
    runtime: Runtime,
    job_id: str | None,
    status: RunStatus | str | None,
    limit: int,
    cursor: str | None,
) -> RunList:
    """One page of runs, newest first, optionally of one job and one status."""
    if not is_count(limit, minimum=1, maximum=MAX_LIST_LIMIT):
        raise ConfigError(f"limit must be between 1 and {MAX_LIST_LIMIT}, got {limit!r}"
                          " (a whole number)")  # fmt: skip
    if status is not None and not isinstance(status, RunStatus):
        try:
            status = RunStatus(str(status).upper())
        except ValueError:
            names = ", ".join(s.value for s in RunStatus)
            raise ConfigError(f"status must be one of {names}, got {status!r}") from None
    from .models import RunList

    if job_id is not None and not is_storable_id(job_id):  # no job can have it
        return RunList(runs=[], next_cursor=None)
    records, next_cursor = await runtime.call(
        runtime.store.list_runs, job_id=job_id, status=status, limit=limit, cursor=cursor
    )
    return RunList(runs=[build_run(r, None) for r in records], next_cursor=next_cursor)


async def cancel_run(runtime: Runtime, run_id: str) -> Run:
    """Cancels a live run (no new task starts); a finished run is returned unchanged."""
    check_run_id(run_id)
    record = await cancel_record(runtime, run_id)
    store = runtime.store
    if record is None:
        record = await runtime.call(store.get_run, run_id)
        if record is None:
            raise RunNotFound(run_id)
    return build_run(record, await runtime.call(store.load_history, run_id))


async def cancel_record(runtime: Runtime, run_id: str) -> RunRecord | None:
    """Cancels a live run: the canceled record, or None when it was finished (or absent)."""
    store, now = runtime.store, runtime.clock.time()
    record = await runtime.call(store.cancel_run, run_id, now=now,
                                expires_at=await _expires_at(runtime, run_id, now))
    running_here = runtime.active_invocations.get(run_id)
    if running_here is not None:
        running_here.mark_canceled()
    if record is not None and record.slot is not None:  # its slot goes to the queue
        await release_slot(runtime, record.queue or record.job_id, record.slot, run_id)
    if record is not None and record.parent_run_id is not None:
        await ends.notify_parent(runtime, record)
    if record is not None and record.callback_url is not None:  # one try: no end write here
        from .run_callbacks import post_callback

        await post_callback(record, now)
    return record


async def _expires_at(runtime: Runtime, run_id: str, now: float) -> float | None:
    """When a run ending now is deleted (its job's retention, else the client's)."""
    record = await runtime.call(runtime.store.get_run, run_id)
    return None if record is None else runtime.expires_at(record.job_id, now)
