"""What happens once a run has ended: its parent run is told, its end hooks are called.

    child run ends  -> record the outcome on the parent's io.invoke_and_wait task (one
                       conditional write), then wake the parent. A crash between the two is
                       caught by the parent itself: its wait task rechecks the child run.
    io.invoke's callback_url -> POSTed like a hook, before it (core/run_callbacks.py)
    job has a hook  -> the end write sets `hooks_due_at` (and `due_at`, so the sweeper finds
                       the run); the hook is called right after, then `hooks_due_at` cleared.
                       A crash in between leaves the run due: the sweeper's next invocation
                       calls the hook (at least once, normally once).
"""

from __future__ import annotations

import inspect
import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .errors import OutputError, StoreError
from .serialize import describe_error
from .store.base import LogRecord
from .types import RunStatus, TaskStatus
from .wakes import wake

if TYPE_CHECKING:
    from .runtime import Runtime
    from .store.base import RunRecord, TaskRecord

logger = logging.getLogger(__name__)

HOOK_GRACE_SECONDS = 60.0
"""A finished run's hooks are due for the sweeper this long after the end write."""
HOOK_LEASE_SECONDS = 300.0
"""While a hook is being called, the sweeper leaves the run alone this long."""
FAILURE_STATUSES = frozenset({RunStatus.FAILED, RunStatus.TIMED_OUT})
"""Ends that call `on_failure`; COMPLETED calls `on_success`, other ends call neither."""


# -- the parent of a child run ----------------------------------------------------------


def child_outcome(task: TaskRecord, child: RunRecord, now: float) -> TaskRecord:
    """The parent's wait task, final with what the (finished) child run ended with."""
    if child.status is RunStatus.COMPLETED:
        return replace(task, status=TaskStatus.COMPLETED, output_json=child.output_json,
                       error=None, completed_at=now, resume_at=None)  # fmt: skip
    reason = (child.error or {}).get("message")
    message = f"child run {child.id} ended {child.status.value}" + (f": {reason}" if reason else "")
    error = {"type": "ChildRunFailed", "message": message, "run_id": child.id,
             "status": child.status.value}  # fmt: skip
    return replace(task, status=TaskStatus.ERRORED, error=error, completed_at=now, resume_at=None)


async def record_child_outcome(runtime: Runtime, task: TaskRecord, child: RunRecord) -> bool:
    """One conditional write of the outcome; an output too large for the store fails it."""
    store, now = runtime.store, runtime.clock.time()
    final = child_outcome(task, child, now)
    try:
        written: bool = await runtime.call(store.put_task, final)
    except OutputError as exc:
        final = replace(final, status=TaskStatus.ERRORED, output_json=None,
                        error=describe_error(exc))  # fmt: skip
        written = await runtime.call(store.put_task, final)
    return written


async def notify_parent(runtime: Runtime, child: RunRecord) -> None:
    """Records a finished child's end on its parent's wait task and wakes the parent."""
    if child.parent_run_id is None or child.parent_task_id is None:
        return
    store = runtime.store
    task = await runtime.call(store.get_task, child.parent_run_id, child.parent_task_id)
    if task is None or task.status.is_final or task.child_run_id != child.id:
        return  # not recorded yet (the parent reads the child after its record) or done
    if await record_child_outcome(runtime, task, child):
        await wake(runtime, child.parent_run_id, runtime.clock.time())


# -- on_success / on_failure ------------------------------------------------------------


def hook_name(status: RunStatus) -> str | None:
    """The hook a run ending with `status` calls, if any."""
    if status is RunStatus.COMPLETED:
        return "on_success"
    return "on_failure" if status in FAILURE_STATUSES else None


def end_changes(runtime: Runtime, run: RunRecord, status: RunStatus, now: float) -> dict[str, Any]:
    """Extra fields of a final end write: `hooks_due_at` and `due_at` when a hook must run."""
    job = runtime.jobs.get(run.job_id)
    name = hook_name(status)
    has_hook = job is not None and name is not None and getattr(job, name) is not None
    if not has_hook and run.callback_url is None:
        return {}
    due = now + HOOK_GRACE_SECONDS
    return {"hooks_due_at": due, "due_at": due}


async def run_ended(runtime: Runtime, run: RunRecord) -> None:
    """After the final end write: tell the parent, call the hook. Failures are logged only."""
    try:
        await notify_parent(runtime, run)
    except StoreError as exc:
        logger.warning("run %s: telling parent run %s failed (its recheck will): %s",
                       run.id, run.parent_run_id, exc)  # fmt: skip
    if run.hooks_due_at is not None:
        await call_hooks(runtime, run, force=True)


async def call_hooks(runtime: Runtime, run: RunRecord, *, force: bool = False) -> None:
    """Calls the end hook of a finished run whose `hooks_due_at` is due (or `force`)."""
    expected = run.hooks_due_at
    now = runtime.clock.time()
    if expected is None or not run.status.is_final or (expected > now and not force):
        return
    store = runtime.store
    try:
        if not await runtime.call(store.move_hooks_due, run.id, expected=expected,
                                  to=now + HOOK_LEASE_SECONDS):  # fmt: skip
            return  # another process is calling it, or has
        if run.callback_url is not None:
            from .run_callbacks import post_callback

            if not await post_callback(run, now):
                return  # still due at the lease's end: the sweeper tries again then
        job = runtime.jobs.get(run.job_id)
        name = hook_name(run.status)
        hook = None if job is None or name is None else getattr(job, name)
        if hook is not None:
            history = await runtime.call(store.load_history, run.id)
            from .views import build_run  # the API models: loaded when a hook is due

            await _call_hook(runtime, run, name or "", hook, build_run(run, history))
        await runtime.call(store.move_hooks_due, run.id, expected=now + HOOK_LEASE_SECONDS,
                           to=None)  # fmt: skip
    except StoreError as exc:
        logger.warning("run %s: end hook left to the sweeper: %s", run.id, exc)


async def _call_hook(runtime: Runtime, run: RunRecord, name: str, hook: Any, view: Any) -> None:
    try:
        result = hook(view)
        if inspect.isawaitable(result):
            await result
    except Exception as exc:  # noqa: BLE001 - a hook's error is logged, never the run's status
        error = describe_error(exc)
        logger.warning("run %s: %s hook raised %s: %s", run.id, name, error["type"],
                       error["message"], extra={"run_id": run.id})  # fmt: skip
        now = runtime.clock.time()
        line = LogRecord(run_id=run.id, key=f"hook#{name}#{int(now * 1_000_000):017d}",
                         level="error", message=f"{name} hook raised {error['type']}: "
                         f"{error['message']}", time=now, fields={"hook": name, "error": error})  # fmt: skip
        await runtime.call(runtime.store.put_logs, [line])
