"""`io.run_task`: a function run once per run, its output recorded; replays return it.

    recorded COMPLETED -> its output            (no write)
    recorded ERRORED   -> the same TaskFailed   (no write)
    retry not yet due  -> suspend until it is
    otherwise          -> check the budget, run fn, record the end (one conditional write)
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..errors import DuplicateKeyError, OutputError, TaskFailed
from ..serialize import describe_error, dump_json, load_json
from ..types import TaskStatus

if TYPE_CHECKING:
    from ..engine import Invocation
    from ..retry import RetryPolicy
    from ..store.base import TaskRecord

logger = logging.getLogger("triggerfish.core.engine")

TaskFunction = Callable[[], Any]


async def run_task(
    inv: Invocation,
    key: str,
    fn: TaskFunction,
    *,
    name: str | None,
    retry: RetryPolicy | None,
    icon: str | None,
    properties: list[dict[str, Any]] | None,
) -> Any:
    """Runs `fn` once for this run (see the module docstring)."""
    claim = inv.claim(key)
    inv.expect_kind(claim, "task")
    recorded = claim.recorded
    if recorded is not None and recorded.status.is_final:
        return inv.replay(key, recorded)
    retry_at = recorded.resume_at if recorded is not None else None
    if retry_at is not None and retry_at > inv.clock.time():
        raise inv.suspend(retry_at, "wait")
    await inv.check_budget()
    await inv.record_parent_running()

    attempt = next_attempt(recorded)
    started_at = inv.clock.time()
    task = claim.task(
        status=TaskStatus.RUNNING, attempts=attempt, name=name, icon=icon, properties=properties,
        started_at=recorded.started_at if recorded and recorded.started_at else started_at,
    )  # fmt: skip
    with inv.in_task(task):
        try:
            result = fn()
            if inspect.isawaitable(result):
                result = await result
            output_json = dump_json(result, key=key)
        except Exception as exc:  # the task's own failure: retry it or record it for good
            inv.executed_count += 1
            error = describe_error(exc)
            logger.info("run %s: task %s attempt %d failed: %s: %s", inv.run.id, key,
                        attempt, error["type"], error["message"])  # fmt: skip
            can_retry = not isinstance(exc, OutputError | TaskFailed | DuplicateKeyError)
            if retry is not None and can_retry and retry.has_attempts_left(attempt):
                resume_at = inv.clock.time() + retry.delay_seconds(attempt)
                waiting = replace(task, status=TaskStatus.WAITING, error=error, resume_at=resume_at)
                await inv.record(waiting)
                raise inv.suspend(resume_at, "wait") from None
            failed = replace(
                task, status=TaskStatus.ERRORED, error=error, completed_at=inv.clock.time()
            )
            final = await inv.record(failed)
            if final.status is TaskStatus.COMPLETED:
                return load_json(final.output_json)
            raise TaskFailed(key, final.error or error) from exc
    done = replace(
        task, status=TaskStatus.COMPLETED, output_json=output_json, completed_at=inv.clock.time()
    )
    try:
        final = await inv.record(done)
    except OutputError as exc:  # too large for the store: the task fails, naming its key
        failed = replace(task, status=TaskStatus.ERRORED, error=describe_error(exc),
                         completed_at=inv.clock.time())  # fmt: skip
        final = await inv.record(failed)
    inv.executed_count += 1
    inv.note_task_time(claim.task_id, inv.clock.time() - started_at)
    if final.status is TaskStatus.ERRORED:
        raise TaskFailed(key, final.error or {})
    return load_json(final.output_json)


def next_attempt(recorded: TaskRecord | None) -> int:
    """A failed attempt waiting for its retry counts; a RUNNING parent re-run does not."""
    if recorded is None:
        return 1
    if recorded.status is TaskStatus.WAITING:
        return recorded.attempts + 1
    return max(recorded.attempts, 1)
