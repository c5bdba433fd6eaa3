"""How each run and task status looks on the dashboard: a glyph, a word and a colour class.

Colour alone does not tell statuses apart for a colour-blind reader, so every badge
also carries a distinct glyph and its label (issue 5). The glyphs are in DejaVu Sans,
the fallback font of most Linux browsers, so none renders as a missing-glyph box; the
text-presentation selector keeps browsers from turning them into emoji.
"""

from __future__ import annotations

from dataclasses import dataclass

from triggerfish.core.types import RunStatus, TaskStatus

_TEXT = "\ufe0e"


@dataclass(frozen=True)
class Badge:
    """A status as the templates draw it: ``<span class="badge {css}">{glyph} {label}</span>``."""

    glyph: str
    label: str
    css: str


RUN_BADGES: dict[RunStatus, Badge] = {
    RunStatus.PENDING: Badge("\u25cc", "Pending", "s-pending"),
    RunStatus.QUEUED: Badge("\u22ef", "Queued", "s-queued"),
    RunStatus.WAITING_ON_CONNECTIONS: Badge("\u21c6", "Waiting on connections", "s-connections"),
    RunStatus.EXECUTING: Badge("\u25b6" + _TEXT, "Executing", "s-executing"),
    RunStatus.WAITING: Badge("\u25f7", "Waiting", "s-waiting"),
    RunStatus.FAILED: Badge("\u2717", "Failed", "s-failed"),
    RunStatus.COMPLETED: Badge("\u2713", "Completed", "s-completed"),
    RunStatus.CANCELED: Badge("\u2298", "Canceled", "s-canceled"),
    RunStatus.TIMED_OUT: Badge("\u25d4", "Timed out", "s-timed-out"),
    RunStatus.INVALID_PAYLOAD: Badge("\u26a0" + _TEXT, "Invalid payload", "s-invalid"),
    RunStatus.UNRESOLVED_AUTH: Badge("\u2049" + _TEXT, "Unresolved auth", "s-auth"),
}

TASK_BADGES: dict[TaskStatus, Badge] = {
    TaskStatus.RUNNING: Badge("\u25b6" + _TEXT, "Running", "s-executing"),
    TaskStatus.WAITING: Badge("\u25f7", "Waiting", "s-waiting"),
    TaskStatus.COMPLETED: Badge("\u2713", "Completed", "s-completed"),
    TaskStatus.ERRORED: Badge("\u2717", "Errored", "s-failed"),
    TaskStatus.CANCELED: Badge("\u2298", "Canceled", "s-canceled"),
}


def badge(status: RunStatus | TaskStatus) -> Badge:
    """The badge of a run or task status."""
    if isinstance(status, RunStatus):
        return RUN_BADGES[status]
    return TASK_BADGES[status]
