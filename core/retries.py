"""`client.retry_run`: a FAILED or TIMED_OUT run continues, keeping every completed task.

    1. read the run: unknown -> RunNotFound; not FAILED/TIMED_OUT -> RunNotRetryable
    2. each ERRORED task (kind task or fetch): one conditional write makes it WAITING, due
       now, with `attempt_base` = its attempts, so its retry policy starts afresh; its last
       error stays on the record until the next attempt ends
    3. the run: one conditional write makes it PENDING, due now (a fresh `max_duration`
       clock and lost-lease count; its concurrency slot is claimed again), then a dispatch

Tasks go first: a crash between the steps leaves a FAILED run that a second `retry_run`
finishes retrying, never a live run that replays its old failure.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from .errors import RunNotFound, RunNotRetryable
from .store.base import RETRY_RUN_STATUSES, History, RunRecord
from .types import TaskStatus

if TYPE_CHECKING:
    from .runtime import Runtime

RETRIED_KINDS = frozenset({"task", "fetch"})
"""Failed records of these kinds get fresh attempts; other kinds (waits) replay as they ended."""


async def retry_run(runtime: Runtime, run_id: str) -> tuple[RunRecord, History]:
    """Makes a FAILED or TIMED_OUT run continue; see the module docstring."""
    store, now = runtime.store, runtime.clock.time()
    run = await runtime.call(store.get_run, run_id)
    if run is None:
        raise RunNotFound(run_id)
    if run.status not in RETRY_RUN_STATUSES:
        raise RunNotRetryable(run_id, run.status.value)
    history = await runtime.call(store.load_history, run_id)
    for task in list(history.tasks.values()):
        if task.status is not TaskStatus.ERRORED or task.kind not in RETRIED_KINDS:
            continue
        fresh = replace(task, status=TaskStatus.WAITING, resume_at=now, completed_at=None,
                        attempt_base=task.attempts, in_flight=False)  # fmt: skip
        if await runtime.call(store.retry_task, fresh, failed_attempts=task.attempts):
            history.tasks[task.id] = fresh
    retried = await runtime.call(store.retry_run, run_id, now=now)
    if retried is None:  # another caller retried (or cancelled) it first
        current = await runtime.call(store.get_run, run_id)
        raise RunNotRetryable(run_id, current.status.value if current else "missing")
    await runtime.dispatch(run_id, now)
    return retried, history
