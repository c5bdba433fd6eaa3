"""Every error triggerfish raises, and the suspension signal.

    TriggerfishError
    ├── ConfigError (ValueError)          bad options or definitions
    ├── RunNotFound (LookupError)         an unknown run id
    ├── EventNotFound (LookupError)       an unknown event id (cancel_event)
    ├── JobNotFound (LookupError)         an unknown job id
    ├── ScheduleNotFound (LookupError)    an unknown schedule id
    ├── DuplicateKeyError (ValueError)    a task key reused under one parent
    ├── OutputError (ValueError)          an output that cannot be stored
    ├── PayloadTooLarge (ValueError)      a payload over the size limit
    ├── StoreError                        the store failed or refused
    │   └── ConditionFailed               a conditional write lost its race
    ├── TaskFailed                        a task's final error, raised identically on replay
    │   └── TaskTimeout                   its last attempt ran longer than `timeout`
    │   └── CallbackFailed                a request wait answered with POST {url}/fail
    ├── TaskInterrupted                   an at-most-once attempt cut short by a crash
    ├── RunNotRetryable                   retry_run on a run not FAILED or TIMED_OUT
    └── WaitTimeout                       io.wait_for_event / wait_for_request timed out

    BaseException
    ├── Suspend                           stops a run mid-flight; never a user error
    └── NonDeterminismError               a recorded key called as another kind: the run fails
"""

from __future__ import annotations

from typing import Any


class TriggerfishError(Exception):
    """Base class for every error triggerfish raises."""


class ConfigError(TriggerfishError, ValueError):
    """An option, job or trigger definition is invalid."""


class RunNotFound(TriggerfishError, LookupError):
    """No run has this id."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"no run with id {run_id!r}")
        self.run_id = run_id


class JobNotFound(TriggerfishError, LookupError):
    """No job has this id."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"no job with id {job_id!r}")
        self.job_id = job_id


class ScheduleNotFound(TriggerfishError, LookupError):
    """No stored schedule has this id."""

    def __init__(self, schedule_id: str) -> None:
        super().__init__(f"no schedule with id {schedule_id!r}")
        self.schedule_id = schedule_id


class DuplicateKeyError(TriggerfishError, ValueError):
    """A task or wait key was used twice under the same parent in one run."""

    def __init__(self, key: str, parent: str | None) -> None:
        where = f"under task {parent!r}" if parent else "at the top level of the run"
        super().__init__(f"task key {key!r} is used twice {where}; keys must be unique")
        self.key = key
        self.parent = parent


class OutputError(TriggerfishError, ValueError):
    """A task or run output cannot be serialized or is too large to store."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"output of {key!r}: {message}")
        self.key = key


class StoreError(TriggerfishError):
    """The store failed; the message names the operation."""


class ConditionFailed(StoreError):
    """A conditional write found the item in another state (a lost race)."""


class TaskFailed(TriggerfishError):
    """A task failed for good; raised again, identically, on every replay.

    `error` is the recorded error: ``{"type": ..., "message": ...}``.
    """

    def __init__(self, key: str, error: dict[str, Any]) -> None:
        self.key = key
        self.error = error
        super().__init__(f"task {key!r} failed: {error.get('type')}: {error.get('message')}")


class TaskTimeout(TaskFailed):
    """A task's attempts ran longer than its `timeout` (io.run_task(..., timeout=)), and no
    retry is left; raised again, identically, on every replay."""


TASK_TIMEOUT_TYPE = "TaskTimeout"
"""The `error["type"]` of an attempt that ran out of time (see `task_failed`)."""


def task_failed(key: str, error: dict[str, Any]) -> TaskFailed:
    """The TaskFailed to raise for a recorded final error: a TaskTimeout for a timeout."""
    if error.get("type") == TASK_TIMEOUT_TYPE and "timeout_seconds" in error:
        return TaskTimeout(key, error)
    return TaskFailed(key, error)


class CallbackFailed(TaskFailed):
    """`io.wait_for_request` answered by ``POST {callback url}/fail``; raised on every replay.

    `error` is what the sender posted: ``{"type": ..., "message": ...}``.
    """

    def __init__(self, key: str, error: dict[str, Any]) -> None:
        super().__init__(key, error)


class Suspend(BaseException):
    """Stops the run function so the invocation can end early.

    A BaseException so that a user's ``except Exception`` cannot swallow it: the engine
    must see it to record WAITING (with ``resume_at``) or a yield before the deadline.
    """

    def __init__(self, resume_at: float | None, *, reason: str) -> None:
        super().__init__(reason)
        self.resume_at = resume_at
        self.reason = reason


class PayloadTooLarge(TriggerfishError, ValueError):
    """A payload is larger than a run can keep; the message names the size and the limit."""


class TaskInterrupted(TriggerfishError):
    """An `at_most_once` task's attempt was cut short (its invocation died mid-attempt).

    Counted as a failed attempt, retried only as the task's RetryPolicy allows: the side
    effect may or may not have happened, so it is never run again blindly.
    """

    def __init__(self, key: str, attempt: int) -> None:
        super().__init__(
            f"task {key!r} attempt {attempt} was interrupted (its invocation ended while it"
            " ran); at_most_once tasks are not run again without a retry policy"
        )
        self.key = key
        self.attempt = attempt


class NonDeterminismError(BaseException):
    """A key recorded as one kind (task, wait, fetch, ...) was called as another.

    The code changed under a running run, so the recorded history no longer matches it.
    A BaseException, like Suspend, so an ``except Exception`` in the run cannot swallow it;
    the engine also remembers it, so the run ends FAILED (never retried) even if it is caught.
    """

    def __init__(self, key: str, recorded_kind: str, called_kind: str) -> None:
        super().__init__(
            f"key {key!r} was recorded as a {recorded_kind} but is now called as a"
            f" {called_kind}: the job's code changed under this run (use a new key for"
            " the new call)"
        )
        self.key = key
        self.recorded_kind = recorded_kind
        self.called_kind = called_kind


class RunNotRetryable(TriggerfishError):
    """`retry_run` on a run that is not FAILED or TIMED_OUT (answered 409 by the API)."""

    def __init__(self, run_id: str, status: str) -> None:
        super().__init__(
            f"run {run_id!r} is {status}; only a FAILED or TIMED_OUT run can be retried"
        )
        self.run_id = run_id
        self.status = status
class EventNotFound(TriggerfishError, LookupError):
    """No event has this id (`Client.cancel_event`)."""

    def __init__(self, event_id: str) -> None:
        super().__init__(f"no event with id {event_id!r}")
        self.event_id = event_id


class WaitTimeout(TriggerfishError):
    """An `io.wait_for_event` or `io.wait_for_request` ended at its timeout; the job may catch it.

    Raised identically on every replay, with the wait's `key`.
    """

    def __init__(self, key: str, message: str | None = None) -> None:
        super().__init__(message or f"wait {key!r} timed out")
        self.key = key
