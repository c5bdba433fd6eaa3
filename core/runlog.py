"""Log lines of `io.logger`: deterministic keys, so a replay never writes a line twice."""

from __future__ import annotations

import logging
from typing import Any

from .serialize import dump_json, load_json
from .store.base import History, LogRecord

run_logger = logging.getLogger("triggerfish.runs")


class RunLog:
    """Buffers new lines of one invocation; `take()` hands them over for one batch write.

    A line's key is ``<scope>#<n>``: the n-th line written in its scope, the run itself or
    one attempt of one task. Replays reach the same keys, and a key already in the history
    is not written again.
    """

    def __init__(self, run_id: str, history: History) -> None:
        self.run_id = run_id
        self.history = history
        self._counters: dict[str, int] = {}
        self._pending: list[LogRecord] = []

    def write(
        self, level: str, message: str, fields: dict[str, Any], *,
        scope: str, task_key: str | None, now: float,
    ) -> None:
        """Records a line unless this replay already stored it."""
        number = self._counters.get(scope, 0)
        self._counters[scope] = number + 1
        key = f"{scope}#{number:06d}"
        if key in self.history.logs:
            return
        plain_fields = load_json(dump_json(fields, key="log fields")) if fields else {}
        record = LogRecord(
            run_id=self.run_id, key=key, level=level, message=str(message), time=now,
            fields=plain_fields, task_key=task_key,
        )  # fmt: skip
        self.history.logs[key] = record
        self._pending.append(record)
        run_logger.log(
            logging.WARNING if level == "WARN" else logging.getLevelName(level),
            "%s%s",
            message,
            "".join(f" {name}={value!r}" for name, value in plain_fields.items()),
            extra={"run_id": self.run_id, "task_key": task_key, "fields": plain_fields},
        )

    def take(self) -> list[LogRecord]:
        """The lines not yet written, emptying the buffer."""
        pending, self._pending = self._pending, []
        return pending
