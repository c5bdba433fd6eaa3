"""The pydantic models a user reads back: runs, tasks, log lines, events, outcomes.

Off a worker's path: an SQS resume needs only `Outcome` (core/outcome.py) and the times
(core/times.py), re-exported here; `triggerfish.core` loads this module on first use.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .outcome import Outcome
from .times import MAX_TIMESTAMP, MIN_TIMESTAMP, to_datetime, utc
from .types import RunStatus, TaskStatus
from .usage import Usage

__all__ = [
    "MAX_TIMESTAMP",
    "MIN_TIMESTAMP",
    "Event",
    "LogLine",
    "Outcome",
    "Run",
    "RunList",
    "Schedule",
    "Status",
    "StatusValue",
    "Task",
    "to_datetime",
    "utc",
]

_DEFERRED = ConfigDict(defer_build=True)
"""API models build their validators on first use: a worker's cold start never needs them."""


class Task(BaseModel):
    """One task or wait of a run, with its subtasks in `children`."""

    model_config = _DEFERRED

    id: str
    key: str
    name: str | None = None
    kind: str = "task"
    status: TaskStatus
    output: Any = None
    error: dict[str, Any] | None = None
    attempts: int = 0
    started_at: datetime | None = None
    completed_at: datetime | None = None
    resume_at: datetime | None = None
    parent: str | None = None
    icon: str | None = None
    properties: list[dict[str, Any]] | None = None
    child_run_id: str | None = None
    children: list[Task] = Field(default_factory=list)

    @property
    def duration_seconds(self) -> float | None:
        """Wall time from start to completion, when both are known."""
        if self.started_at is None or self.completed_at is None:
            return None
        return (self.completed_at - self.started_at).total_seconds()


class LogLine(BaseModel):
    """One line written by `io.logger`."""

    model_config = _DEFERRED

    level: str
    message: str
    fields: dict[str, Any] = Field(default_factory=dict)
    time: datetime
    task_key: str | None = None


class StatusValue(BaseModel):
    """One value a status had, and when it was set."""

    model_config = _DEFERRED

    label: str
    state: str | None = None
    data: dict[str, Any] | None = None
    time: datetime | None = None


class Status(BaseModel):
    """A status made by `io.create_status`: its current value and the earlier ones."""

    model_config = _DEFERRED

    key: str
    label: str
    state: str | None = None
    data: dict[str, Any] | None = None
    updated_at: datetime | None = None
    history: list[StatusValue] = Field(default_factory=list)


class Run(BaseModel):
    """A run of a job: its status, payload, output or error, tasks (as a tree) and logs."""

    model_config = _DEFERRED

    id: str
    job_id: str
    job_version: str | None = None
    status: RunStatus
    payload: Any = None
    output: Any = None
    error: dict[str, Any] | None = None
    event_id: str | None = None
    event_name: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    updated_at: datetime | None = None
    resume_at: datetime | None = None
    invocation_count: int = 0
    environment: str | None = None
    tasks: list[Task] = Field(default_factory=list)
    logs: list[LogLine] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    """Invocations, billed time and requests, counted over all invocations (core/usage.py)."""
    cost_usd: float = 0.0
    """Estimated from `usage` and the client's price table (`Client(prices=...)`)."""
    expires_at: datetime | None = None
    """When the finished run and its tasks, logs and blobs are deleted (retention)."""
    parent_run_id: str | None = None
    statuses: list[Status] = Field(default_factory=list)
    priority: int = 0
    """Higher leaves a queue first (`send_event(priority=)`, `invoke(priority=)`)."""
    queued_reason: str | None = None
    """Why a QUEUED run waits: "concurrency", "rate", "debounce", "batch" (None otherwise)."""

    @property
    def is_final(self) -> bool:
        """True once the run can never change again."""
        return self.status.is_final

    def iter_tasks(self) -> Iterator[Task]:
        """Every task of the tree, depth first, parents before children."""
        stack = list(reversed(self.tasks))
        while stack:
            task = stack.pop()
            yield task
            stack.extend(reversed(task.children))


class RunList(BaseModel):
    """One page of runs, newest first; pass `next_cursor` back for the next page."""

    model_config = _DEFERRED

    runs: list[Run]
    next_cursor: str | None = None

    def __iter__(self) -> Iterator[Run]:  # type: ignore[override]
        """Iterates over the runs of the page (not over fields, as a plain model would)."""
        return iter(self.runs)

    def __len__(self) -> int:
        return len(self.runs)

    def __getitem__(self, index: int) -> Run:
        return self.runs[index]


class Event(BaseModel):
    """An event sent to the client and the runs it started."""

    model_config = _DEFERRED

    id: str
    name: str
    payload: Any = None
    timestamp: datetime
    run_ids: list[str] = Field(default_factory=list)
    status: str = "delivered"
    """``delivered``; for a delayed event ``pending``, ``delivering`` or ``canceled``."""
    deliver_at: datetime | None = None
    """When a delayed event is (or was) delivered; None for one delivered when sent."""
    context: dict[str, Any] | None = None
    """What the sender passed as `context` (None when nothing); runs it started read it as
    `ctx.event.context`."""


class Schedule(BaseModel):
    """A schedule: made at run time (`client.create_schedule`) or declared in code (a job's
    cron or interval trigger, `declared` True, its id the job's)."""

    model_config = _DEFERRED

    id: str
    job_id: str
    cron: str | None = None
    interval: float | None = Field(default=None, description="Seconds between fires.")
    timezone: str | None = None
    payload: Any = None
    paused: bool = False
    next_at: datetime | None = Field(
        default=None, description="When it fires next (None while paused)."
    )
    declared: bool = False
