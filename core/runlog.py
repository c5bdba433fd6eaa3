"""Log lines of `io.logger`: deterministic keys, so a replay never writes a line twice."""

from __future__ import annotations

import logging
from typing import Any

from .errors import OutputError
from .serialize import dump_json, load_json, safe_text
from .store.base import History, LogRecord

run_logger = logging.getLogger("triggerfish.runs")

MAX_LOG_VALUE_CHARS = 1000
"""A log field that is not JSON is stored as its repr, cut to this many characters."""
MAX_LOG_FIELDS_CHARS = 16 * 1024
"""The JSON of one line's fields is kept under this; past it, the fields are summarized."""


def plain_log_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """`fields` as JSON data, never raising: a value that is not JSON becomes its bounded
    repr, and a line whose fields are too large keeps only a bounded summary of them.
    """
    plain: dict[str, Any] = {}
    for name, value in fields.items():
        try:
            plain[name] = load_json(dump_json(value, key=name))
        except (OutputError, ValueError, TypeError, RecursionError):
            plain[name] = _bounded_repr(value)
    try:
        size = len(dump_json(plain, key="log fields"))
    except (OutputError, ValueError, TypeError, RecursionError):
        size = MAX_LOG_FIELDS_CHARS + 1
    if size <= MAX_LOG_FIELDS_CHARS:
        return plain
    summary = {name: _bounded_repr(value, limit=MAX_LOG_VALUE_CHARS // 10) for name, value
               in list(plain.items())[:MAX_LOG_FIELDS_CHARS // MAX_LOG_VALUE_CHARS]}  # fmt: skip
    summary["_truncated"] = f"fields over {MAX_LOG_FIELDS_CHARS} characters of JSON ({len(plain)} fields)"
    return summary


def _bounded_repr(value: Any, limit: int = MAX_LOG_VALUE_CHARS) -> str:
    """repr(value) cut to `limit` characters; the type's name when repr itself fails."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not fail the run
        text = f"<{type(value).__name__}>"
    return safe_text(text, limit=limit)


class RunLog:
    """Buffers new lines of one invocation; `take()` hands them over for one batch write.

    A line's key is ``<scope>#<n>``: the n-th line written in its scope, the run itself or
    one attempt of one task. Replays reach the same keys, and a key already in the history
    is not written again.
    """

    def __init__(self, run_id: str, history: History, *, job_id: str | None = None) -> None:
        self.run_id = run_id
        self.job_id = job_id
        self.history = history
        self._counters: dict[str, int] = {}
        self.pending: list[LogRecord] = []
        """The lines not yet written (checked before every task's write)."""

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
        plain_fields = plain_log_fields(fields) if fields else {}
        record = LogRecord(
            run_id=self.run_id, key=key, level=level, message=safe_text(message), time=now,
            fields=plain_fields, task_key=task_key,
        )  # fmt: skip
        self.history.logs[key] = record
        self.pending.append(record)
        run_logger.log(
            logging.WARNING if level == "WARN" else logging.getLevelName(level),
            "%s%s",
            message,
            "".join(f" {name}={value!r}" for name, value in plain_fields.items()),
            extra={"run_id": self.run_id, "job_id": self.job_id, "task_key": task_key,
                   "fields": plain_fields},
        )

    def take(self) -> list[LogRecord]:
        """The lines not yet written, emptying the buffer."""
        pending, self.pending = self.pending, []
        return pending
