"""`io.run_task`: a function run once per run, its output recorded; replays return it.

    recorded COMPLETED -> its output            (no write)
    recorded ERRORED   -> the same TaskFailed   (no write)
    at_most_once, found RUNNING in flight -> the attempt was cut short: TaskInterrupted,
                         a failed attempt, retried only as the policy allows
    retry not yet due  -> suspend until it is
    otherwise          -> check the budget, run fn, record the end (one conditional write);
                          at_most_once writes a start record (RUNNING, in flight) first
    fn raised StoreError -> the invocation stops (not a task failure); the run resumes later
    timeout            -> an attempt past it fails (TaskTimeout), retried as the policy allows
                          (core/io/timeouts.py: what it means for a sync fn)
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol, cast

from ..errors import (
    ConditionFailed,
    DuplicateKeyError,
    OutputError,
    StoreError,
    Suspend,
    TaskFailed,
    TaskInterrupted,
    task_failed,
)
from ..jobs import is_async_callable
from ..port import ParentTask
from ..scopes import current_parent
from ..serdes import DEFAULT_SERDES, dump_output, load_output
from ..serialize import describe_error
from ..store.base import TaskRecord
from ..task_context import TaskContext, idempotency_key_for, takes_context
from ..types import TaskStatus
from .sync_tasks import call_on_loop, is_plain_sync_function, loop_code, on_loop_code, run_sync_fn
from .timeouts import AttemptTimedOut, within

if TYPE_CHECKING:
    from ..port import Claim, Port
    from ..redact import Redaction
    from ..retry import RetryPolicy
    from ..serdes import Serdes

logger = logging.getLogger("triggerfish.core.engine")

TaskFunction = Callable[[], Any] | Callable[[TaskContext], Any]
"""A task's fn: no parameter, or one that gets the `TaskContext`; sync or async."""


class RetryByError(Protocol):
    """Chooses the policy that retries an error (a background fetch's policies by status)."""

    def for_error(self, exc: BaseException) -> RetryPolicy | None: ...


async def run_task(
    inv: Port,
    key: str,
    fn: TaskFunction,
    *,
    name: str | None,
    retry: RetryPolicy | RetryByError | None,
    icon: str | None,
    properties: list[dict[str, Any]] | None,
    at_most_once: bool = False,
    timeout: float | None = None,
    serdes: Serdes | None = None,
    redact: Redaction | None = None,
) -> Any:
    """Runs `fn` once for this run (see the module docstring); `timeout` in seconds."""
    claim = inv.claim(key, kind="task")
    return await run_claimed_task(
        inv, claim, fn, name=name, retry=retry, icon=icon, properties=properties,
        at_most_once=at_most_once, timeout=timeout, serdes=serdes, redact=redact,
    )  # fmt: skip


async def run_claimed_task(
    inv: Port,
    claim: Claim,
    fn: TaskFunction,
    *,
    name: str | None = None,
    retry: RetryPolicy | RetryByError | None = None,
    icon: str | None = None,
    properties: list[dict[str, Any]] | None = None,
    at_most_once: bool = False,
    timeout: float | None = None,
    serdes: Serdes | None = None,
    redact: Redaction | None = None,
) -> Any:
    """`run_task` once its key is claimed."""
    key = claim.key
    codec = serdes or inv.runtime.serdes or DEFAULT_SERDES
    recorded = claim.recorded
    if recorded is not None and recorded.status.is_final:
        return inv.replay(key, recorded, codec)
    if at_most_once and recorded is not None and _was_interrupted(recorded):
        return await _interrupted(inv, key, recorded, _policy(retry, None), codec)
    if recorded is not None:
        retry_at = recorded.resume_at
        if retry_at is not None and retry_at > inv.clock.time():
            raise inv.suspend(retry_at, "wait")
    pending = inv.before_work(claim)  # the budget, the parent's record: usually nothing
    if pending is not None:
        await pending

    started_at = inv.clock.time()
    if recorded is None and name is None and icon is None and properties is None:
        task = claim.running(started_at, in_flight=at_most_once)  # the usual first attempt
        attempt = 1
    else:
        attempt = next_attempt(recorded)
        task = claim.task(
            status=TaskStatus.RUNNING, attempts=attempt, name=name, icon=icon,
            properties=properties, in_flight=at_most_once,
            started_at=recorded.started_at if recorded and recorded.started_at else started_at,
            attempt_base=recorded.attempt_base if recorded else 0,
        )  # fmt: skip
    if at_most_once:  # the start record: a crash from here on is seen, not run again blindly
        started = await inv.record(task)
        if started is not task:
            return inv.replay(key, started, codec)
    if takes_context(fn):  # v2's `task` argument: key, attempt, idempotency key
        context = TaskContext(key, idempotency_key_for(inv.run.id, claim.task_id), attempt,
                              inv.run.id)  # fmt: skip
        fn = functools.partial(cast("Callable[[TaskContext], Any]", fn), context)
    with inv.in_task(task):
        try:
            if timeout is None and _is_coroutine_function(fn):  # type: ignore[arg-type]
                result = await fn()  # type: ignore[call-arg]  # the common async fn
            elif timeout is None and is_plain_sync_function(fn):  # type: ignore[arg-type]
                result = await _call_sync_fn(fn, key)  # type: ignore[arg-type]  # a lambda
            elif timeout is None:
                result = await call_task_fn(fn, key)  # type: ignore[arg-type]
            else:
                call = call_task_fn(fn, key)  # type: ignore[arg-type]
                result = await within(call, timeout, key=key, attempt=attempt)
            output_json = dump_output(result, key=key, serdes=codec)
            stored_json = output_json if redact is None else redact.apply(output_json, key=key)
        except Suspend as suspension:
            if at_most_once and suspension.reason in ("wait", "yield"):
                # A clean pause at a subtask's io call, not a crash: resumes, not interrupted.
                await inv.record(replace(task, in_flight=False))
            raise
        except Exception as exc:  # noqa: BLE001 - the task's own failure: retried or recorded
            return await _attempt_failed(inv, key, task, exc, retry, codec)
    done = _completed(task, stored_json, inv.clock.time())
    try:
        final = await inv.record(done)
    except OutputError as exc:  # too large for the store: the task fails, naming its key
        final = await _output_refused(inv, task, exc)
    inv.executed_count += 1
    inv.note_task_time(claim.task_id, inv.clock.time() - started_at)
    if final.status is TaskStatus.ERRORED:
        raise TaskFailed(key, final.error or {})
    if final is done and type(result) in _SAME_AFTER_JSON and codec is DEFAULT_SERDES:
        return result  # what load_output(output_json) would give back: no decode per task
    if final is done and redact is not None:
        return load_output(output_json, codec)  # this run gets the whole output (not stored)
    return load_output(final.output_json, codec)


async def run_plain_task(inv: Port, key: str, fn: TaskFunction) -> Any:
    """`io.run_task(key, fn)` with no option, io call scope included: `run_task`'s steps in
    one frame for a first attempt whose fn takes no TaskContext, with no tracer (most steps
    of a long run); a replay, a retry or a context goes on to `run_claimed_task`. The scope
    objects and keyword calls it leaves out were ~10 µs of a ~110 µs step (issue 17)."""
    entered = inv.enter_io()
    try:
        claim = inv.claim(key, "task")
        code = on_loop_code(fn)  # type: ignore[arg-type]  # a quick lambda: takes no context
        if (
            claim.recorded is not None
            or inv.runtime.tracer is not None
            or (code is None and takes_context(fn))
        ):
            return await run_claimed_task(inv, claim, fn)
        pending = inv.before_work(claim)  # the budget, the parent's record: usually nothing
        if pending is not None:
            await pending
            code = on_loop_code(fn)  # type: ignore[arg-type]  # other runs ran meanwhile
        clock = inv.clock
        started_at = clock.time()
        task = claim.running(started_at)
        codec = inv.runtime.serdes or DEFAULT_SERDES
        running = inv.running  # `inv.in_task(task)`, without its object
        running[task.id] = task
        # tuple.__new__: the NamedTuple's own __new__ is one more Python call per task
        in_task = current_parent.set(tuple.__new__(ParentTask, (task.id, key, 1)))
        try:
            if code is not None:  # the README's form: a lambda, known quick
                result = call_on_loop(fn, key, code)  # type: ignore[arg-type]
                if type(result) not in _SAME_AFTER_JSON and inspect.isawaitable(result):
                    result = await result
            elif _is_coroutine_function(fn):  # type: ignore[arg-type]
                result = await fn()  # type: ignore[call-arg]
            else:  # not yet known quick, a thread, a callable object: as run_task does
                result = await call_task_fn(fn, key)  # type: ignore[arg-type]
            output_json = dump_output(result, key=key, serdes=codec)
        except Exception as exc:  # noqa: BLE001 - the task's own failure (Suspend is not one)
            return await _attempt_failed(inv, key, task, exc, None, codec)
        finally:
            current_parent.reset(in_task)
            running.pop(task.id, None)
        done = _completed(task, output_json, clock.time())
        try:
            final = inv.record_now(done)
            if not isinstance(final, TaskRecord):
                final = await final
        except OutputError as exc:  # too large for the store: the task fails, naming its key
            final = await _output_refused(inv, task, exc)
        inv.executed_count += 1
        inv.note_task_time(claim.task_id, clock.time() - started_at)  # its write included
        if final is done:
            if codec is DEFAULT_SERDES and type(result) in _SAME_AFTER_JSON:
                return result  # what load_output(output_json) would give back: no decode
            return load_output(output_json, codec)
        if final.status is TaskStatus.ERRORED:
            raise TaskFailed(key, final.error or {})
        return load_output(final.output_json, codec)
    finally:
        inv.leave_io(entered)


async def _output_refused(inv: Port, task: TaskRecord, exc: OutputError) -> TaskRecord:
    """The store refused the output (too large): the task is recorded failed, naming its key."""
    failed = replace(task, status=TaskStatus.ERRORED, error=describe_error(exc),
                     completed_at=inv.clock.time(), in_flight=False)  # fmt: skip
    return await inv.record(failed)


async def _attempt_failed(
    inv: Port,
    key: str,
    task: TaskRecord,
    exc: Exception,
    retry: RetryPolicy | RetryByError | None,
    codec: Serdes,
) -> Any:
    """An attempt's own failure (its fn or its output raised `exc`; called in the `except`):
    WAITING for its retry as the policy allows (then Suspend), else ERRORED (TaskFailed).
    A StoreError stops the invocation instead: the store's failure, not the task's."""
    if isinstance(exc, StoreError) and not isinstance(exc, ConditionFailed):
        raise inv.store_failed(exc) from exc
    attempt = task.attempts
    inv.executed_count += 1
    timed_out = isinstance(exc, AttemptTimedOut)
    policy = _policy(retry, exc)
    error = dict(exc.error) if isinstance(exc, AttemptTimedOut) else describe_error(exc)
    logger.info("run %s: task %s attempt %d failed: %s: %s", inv.run.id, key,
                attempt, error["type"], error["message"])  # fmt: skip
    can_retry = timed_out or not isinstance(exc, OutputError | TaskFailed | DuplicateKeyError)
    tries = attempt - task.attempt_base  # counted from the last retry_run
    if policy is not None and can_retry and policy.has_attempts_left(tries):
        can_retry = _retries(policy, exc, error)
    if policy is not None and can_retry and policy.has_attempts_left(tries):
        resume_at = inv.clock.time() + policy.delay_seconds(tries)
        waiting = replace(task, status=TaskStatus.WAITING, error=error,
                          resume_at=resume_at, in_flight=False)  # fmt: skip
        await inv.record(waiting)
        raise inv.suspend(resume_at, "wait") from None
    failed = replace(task, status=TaskStatus.ERRORED, error=error,
                     completed_at=inv.clock.time(), in_flight=False)  # fmt: skip
    final = await inv.record(failed)
    if final.status is TaskStatus.COMPLETED:
        return load_output(final.output_json, codec)
    cause = None if timed_out else exc
    raise task_failed(key, final.error or error) from cause


_SAME_AFTER_JSON = frozenset({int, str, bool, float, type(None)})
"""Types whose values come back from the default serdes equal and of the same type (floats
are finite there: NaN and infinities are refused)."""


async def call_task_fn(fn: Callable[[], Any], key: str = "") -> Any:
    """Runs a task's fn: an async fn on the event loop; a sync fn on the loop once it has
    shown it is quick, else in a worker thread (with this context copied, like
    asyncio.to_thread; see core/io/sync_tasks.py), so a blocking call stalls neither the
    lease heartbeat nor other runs. An awaitable a sync fn returns is awaited on the loop.
    """
    if _is_coroutine_function(fn) or (not is_plain_sync_function(fn) and is_async_callable(fn)):
        result = fn()
        if inspect.isawaitable(result):
            result = await result
        return result
    return await _call_sync_fn(fn, key)


async def _call_sync_fn(fn: Callable[[], Any], key: str) -> Any:
    """A sync fn on the loop when it has shown it is quick, else in a thread; an awaitable
    it returns is awaited here."""
    code = loop_code(fn)
    result = call_on_loop(fn, key, code) if code is not None else await run_sync_fn(fn, key)
    if type(result) not in _SAME_AFTER_JSON and inspect.isawaitable(result):
        result = await result
    return result


def _is_coroutine_function(fn: Callable[[], Any]) -> bool:
    """The common async fn (an `async def`, or a partial of one) without `inspect`'s
    unwrapping (~1 µs per task); anything else is left to `is_async_callable`."""
    if type(fn) is functools.partial:
        fn = fn.func
    code = getattr(fn, "__code__", None)
    return code is not None and bool(code.co_flags & inspect.CO_COROUTINE)


def _policy(
    retry: RetryPolicy | RetryByError | None, exc: BaseException | None
) -> RetryPolicy | None:
    """The policy for this failure: `retry` itself, or what it chooses for `exc`."""
    choose = getattr(retry, "for_error", None)
    if choose is None:
        return retry  # type: ignore[return-value]  # a RetryPolicy or None
    return None if exc is None else choose(exc)


def _was_interrupted(recorded: TaskRecord) -> bool:
    """An at_most_once start record left in flight: its invocation died mid-attempt."""
    return recorded.status is TaskStatus.RUNNING and recorded.in_flight


async def _interrupted(
    inv: Port, key: str, recorded: TaskRecord, retry: RetryPolicy | None, codec: Serdes
) -> Any:
    """Records an interrupted at_most_once attempt as failed (TaskInterrupted): WAITING for
    its retry when the policy allows one, else ERRORED. Never runs fn here.
    """
    await inv.check_budget()
    attempt = max(recorded.attempts, 1)
    exc = TaskInterrupted(key, attempt)
    error = describe_error(exc)
    now = inv.clock.time()
    logger.warning("run %s: at_most_once task %s attempt %d was interrupted", inv.run.id, key,
                   attempt)  # fmt: skip
    tries = attempt - recorded.attempt_base
    if retry is not None and retry.has_attempts_left(tries) and _retries(retry, exc, error):
        resume_at = now + retry.delay_seconds(tries)
        waiting = replace(recorded, status=TaskStatus.WAITING, error=error, resume_at=resume_at,
                          in_flight=False)  # fmt: skip
        final = await inv.record(waiting)
        if final is not waiting:  # the interrupted invocation recorded its end meanwhile
            return inv.replay(key, final, codec)
        raise inv.suspend(resume_at, "wait")
    failed = replace(recorded, status=TaskStatus.ERRORED, error=error, completed_at=now,
                     in_flight=False)  # fmt: skip
    final = await inv.record(failed)
    if final.status is TaskStatus.COMPLETED:
        return load_output(final.output_json, codec)
    raise TaskFailed(key, final.error or error)


def _retries(retry: RetryPolicy, exc: BaseException, error: dict[str, Any]) -> bool:
    """`retry.retry_on` applied; a predicate that raises retries nothing (noted in `error`)."""
    try:
        return retry.should_retry(exc)
    except Exception as bad:  # noqa: BLE001 - the user's predicate: the task fails, said why
        error["message"] += f" (not retried: retry_on raised {type(bad).__name__}: {bad})"
        return False


def _completed(task: TaskRecord, output_json: str, completed_at: float) -> TaskRecord:
    """`task` COMPLETED with its output: the running record's fields copied onto a bare
    instance (`dataclasses.replace` re-runs the frozen `__init__`, ~5 µs on every task)."""
    done = object.__new__(type(task))
    fields = done.__dict__
    fields.update(task.__dict__)
    fields["status"] = TaskStatus.COMPLETED
    fields["output_json"] = output_json
    fields["completed_at"] = completed_at
    fields["in_flight"] = False
    return done


def next_attempt(recorded: TaskRecord | None) -> int:
    """A failed attempt waiting for its retry counts; a RUNNING parent re-run does not."""
    if recorded is None:
        return 1
    if recorded.status is TaskStatus.WAITING:
        return recorded.attempts + 1
    return max(recorded.attempts, 1)
