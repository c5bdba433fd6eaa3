"""A run's changes between two reads of the store, as events with resumable cursors.

`RunChanges` compares each new read of a run (`Client.get_run`) with what it has already
sent and returns only what is new: ``run`` (status, output, error, times, statuses),
``task`` (one task's state) and ``log`` (one line), then ``end`` once the run is final.

Every item has an order key ``(time_ms, rank, ident)``: the run's ``updated_at``, a task's
latest start or completion, a log line's time. A cursor is the greatest key sent so far,
written ``<time_ms>.<rank>.<ident>``; a reader that comes back with it (``Last-Event-ID``
or ``?since=``) gets only the items whose key is greater. Within one connection the
comparison is by content, so a change that keeps an item's times (a retry scheduled) is
still sent; across a reconnection such a change arrives with the item's next change.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from triggerfish.core.models import LogLine, Run, Task

MAX_OUTPUT_CHARS = 1000
"""A task output whose JSON is longer is sent as ``output_truncated: true`` instead."""
MAX_MESSAGE_CHARS = 500
"""Longer error messages are cut to this many characters in task events."""

OrderKey = tuple[int, int, str]
_RUN, _TASK, _LOG = 0, 1, 2


class CursorError(ValueError):
    """A cursor this API did not issue."""


@dataclass(frozen=True)
class Change:
    """One event to send: its type, its JSON data and the cursor after it."""

    event: str
    data: dict[str, Any]
    id: str

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "event": self.event, "data": self.data}

    def as_sse(self) -> str:
        return f"id: {self.id}\nevent: {self.event}\ndata: {json.dumps(self.data)}\n\n"


def parse_cursor(raw: str) -> OrderKey:
    """The order key of a cursor; raises CursorError for anything else."""
    parts = raw.strip().split(".", 2)
    if len(parts) != 3 or not parts[0].isdigit() or parts[1] not in ("0", "1", "2"):
        raise CursorError(f"{raw[:80]!r} is not a cursor of this run's events")
    return int(parts[0]), int(parts[1]), parts[2]


def format_cursor(key: OrderKey) -> str:
    return f"{key[0]}.{key[1]}.{key[2]}"


@dataclass
class RunChanges:
    """What one reader has been sent of one run; `diff` returns what is new since."""

    cursor: OrderKey | None = None
    _seen: dict[str, str] = field(default_factory=dict)
    _resumed: bool = False

    def __post_init__(self) -> None:
        self._resumed = self.cursor is not None

    @property
    def cursor_text(self) -> str | None:
        return None if self.cursor is None else format_cursor(self.cursor)

    def diff(self, run: Run) -> list[Change]:
        """The events of `run`'s changes since the last call, in order, ``end`` last if final."""
        items = sorted(_items(run), key=lambda item: item[0])
        if not self._seen and not self._resumed:
            # A new reader gets the run as it is first, then what it holds.
            items.sort(key=lambda item: item[2] != "run")
        changes: list[Change] = []
        for key, ident, event, data in items:
            fingerprint = json.dumps(data, sort_keys=True, default=str)
            if self._seen.get(ident) == fingerprint:
                continue
            self._seen[ident] = fingerprint
            if self._resumed and self.cursor is not None and key <= self.cursor:
                continue  # sent before the reconnection
            if self.cursor is None or key > self.cursor:
                self.cursor = key
            changes.append(Change(event, data, format_cursor(self.cursor)))
        self._resumed = False
        if run.is_final:
            end = {"status": run.status.value, "output": run.output, "error": run.error}
            changes.append(Change("end", end, self.cursor_text or "0.0.end"))
        return changes


def _items(run: Run) -> list[tuple[OrderKey, str, str, dict[str, Any]]]:
    """Every item of the run: (order key, identity, event type, data)."""
    items: list[tuple[OrderKey, str, str, dict[str, Any]]] = [
        ((_ms(run.updated_at or run.created_at), _RUN, "run"), "run", "run", _run_data(run))
    ]
    for task in run.iter_tasks():
        times = [t for t in (task.started_at, task.completed_at) if t is not None]
        key = (_ms(max(times)) if times else 0, _TASK, task.id)
        items.append((key, f"task:{task.id}", "task", _task_data(task)))
    occurrences: dict[str, int] = {}
    for line in run.logs:
        digest = _log_digest(line)
        occurrences[digest] = occurrences.get(digest, 0) + 1
        ident = f"{digest}-{occurrences[digest]}"
        items.append(((_ms(line.time), _LOG, ident), f"log:{ident}", "log", _log_data(line)))
    return items


def _run_data(run: Run) -> dict[str, Any]:
    data = run.model_dump(
        mode="json",
        include={"id", "job_id", "status", "output", "error", "started_at", "completed_at",
                 "updated_at", "resume_at", "invocation_count"},
    )  # fmt: skip
    statuses = getattr(run, "statuses", None)  # Run.statuses (issue 10) when it exists
    if statuses is not None:
        data["statuses"] = json.loads(json.dumps(statuses, default=_plain))
    return data


def _task_data(task: Task) -> dict[str, Any]:
    data = task.model_dump(
        mode="json",
        include={"id", "key", "name", "kind", "parent", "status", "attempts", "started_at",
                 "completed_at", "resume_at"},
    )  # fmt: skip
    text = json.dumps(task.output, default=str)
    data["output_truncated"] = len(text) > MAX_OUTPUT_CHARS
    data["output"] = None if data["output_truncated"] else json.loads(text)
    data["error"] = _error_summary(task.error)
    return data


def _error_summary(error: dict[str, Any] | None) -> dict[str, Any] | None:
    if error is None:
        return None
    summary: dict[str, Any] = {n: error[n] for n in ("type", "name", "code") if n in error}
    summary["message"] = str(error.get("message", ""))[:MAX_MESSAGE_CHARS]
    return summary


def _log_data(line: LogLine) -> dict[str, Any]:
    return line.model_dump(mode="json")


def _log_digest(line: LogLine) -> str:
    text = json.dumps(_log_data(line), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _plain(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    return dump(mode="json") if callable(dump) else str(value)
