"""Statuses of runs and tasks (stdlib only, so every module can import it)."""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    """Where a run is; the values are the upper-case names, as they appear in JSON.

    A `str` (``RunStatus.FAILED == "FAILED"``) whose ``str()`` is its value too.
    """

    PENDING = "PENDING"
    QUEUED = "QUEUED"
    WAITING_ON_CONNECTIONS = "WAITING_ON_CONNECTIONS"
    EXECUTING = "EXECUTING"
    WAITING = "WAITING"
    FAILED = "FAILED"
    COMPLETED = "COMPLETED"
    CANCELED = "CANCELED"
    TIMED_OUT = "TIMED_OUT"
    INVALID_PAYLOAD = "INVALID_PAYLOAD"
    UNRESOLVED_AUTH = "UNRESOLVED_AUTH"

    @property
    def is_final(self) -> bool:
        """True once the run can never change again."""
        return self in FINAL_RUN_STATUSES


FINAL_RUN_STATUSES = frozenset(
    {
        RunStatus.FAILED,
        RunStatus.COMPLETED,
        RunStatus.CANCELED,
        RunStatus.TIMED_OUT,
        RunStatus.INVALID_PAYLOAD,
        RunStatus.UNRESOLVED_AUTH,
    }
)


class TaskStatus(StrEnum):
    """Where one task (or wait) of a run is."""

    RUNNING = "RUNNING"
    WAITING = "WAITING"
    COMPLETED = "COMPLETED"
    ERRORED = "ERRORED"
    CANCELED = "CANCELED"

    @property
    def is_final(self) -> bool:
        """True for a record that must never be overwritten."""
        return self in _FINAL_TASK_STATUSES


_FINAL_TASK_STATUSES = frozenset({TaskStatus.COMPLETED, TaskStatus.ERRORED, TaskStatus.CANCELED})
"""A set read on every task (an enum attribute per status, per call, was not free)."""
