"""A run's task tree laid out on one time axis, for the duration bars of the run page.

The offsets and widths are computed here, on the server, as percentages of the axis, so
the page draws its bars with plain CSS (no JavaScript, issue 5). The axis runs from the
run's start (or the earliest task) to its end, or to "now" while the run is live; a task
still open stretches to the end of the axis.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from triggerfish.core.models import Run, Task

MIN_BAR_PERCENT = 0.6
"""A task that took no measurable time still gets a visible sliver."""


@dataclass(frozen=True)
class TaskRow:
    """One task of the tree, flattened: its depth and its bar on the shared axis."""

    task: Task
    depth: int
    offset_percent: float
    width_percent: float
    duration_seconds: float | None
    is_open: bool


@dataclass(frozen=True)
class Timeline:
    """The rows of a run's tasks, parents before children, and the axis length."""

    rows: list[TaskRow]
    axis_seconds: float


def build_timeline(run: Run, now: datetime) -> Timeline:
    """Lays out every task of `run` on one axis; `now` ends the axis of a live run."""
    tasks = list(run.iter_tasks())
    starts = [t.started_at for t in tasks if t.started_at is not None]
    run_start = run.started_at or run.created_at
    start = min([run_start, *starts])
    if run.is_final and run.completed_at is not None:
        end = run.completed_at
    else:
        end = now
    ends = [t.completed_at for t in tasks if t.completed_at is not None]
    end = max([end, *ends])
    axis = max((end - start).total_seconds(), 0.001)
    rows: list[TaskRow] = []
    _add_rows(run.tasks, 0, start, end, axis, rows)
    return Timeline(rows=rows, axis_seconds=axis)


def _add_rows(
    tasks: list[Task], depth: int, start: datetime, end: datetime, axis: float, rows: list[TaskRow]
) -> None:
    for task in tasks:
        is_open = task.completed_at is None
        began = task.started_at or start
        finished = task.completed_at or end
        offset = min(_percent((began - start).total_seconds(), axis), 100.0 - MIN_BAR_PERCENT)
        width = max(MIN_BAR_PERCENT, _percent((finished - began).total_seconds(), axis))
        width = min(width, 100.0 - offset)
        duration = None if task.started_at is None else (finished - began).total_seconds()
        rows.append(
            TaskRow(
                task=task,
                depth=depth,
                offset_percent=round(offset, 2),
                width_percent=round(width, 2),
                duration_seconds=duration,
                is_open=is_open,
            )
        )
        _add_rows(task.children, depth + 1, start, end, axis, rows)


def _percent(seconds: float, axis: float) -> float:
    return max(0.0, min(100.0, seconds / axis * 100.0))


def format_duration(seconds: float | None) -> str:
    """A short human duration: ``"850 ms"``, ``"4.2 s"``, ``"3 min 05 s"``, ``"2 h 01 min"``."""
    if seconds is None:
        return "\u2014"
    if seconds < 1:
        return f"{max(0.0, seconds) * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
