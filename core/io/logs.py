"""`io.logger`: log lines stored with the run, never written twice by replays."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..port import Port


class RunLogger:
    """`io.logger`: log lines stored with the run, never written twice by replays."""

    def __init__(self, invocation: Port) -> None:
        self._invocation = invocation

    def debug(self, message: str, **fields: Any) -> None:
        """A DEBUG line with optional JSON fields."""
        self._invocation.write_log("DEBUG", message, fields)

    def info(self, message: str, **fields: Any) -> None:
        """An INFO line with optional JSON fields."""
        self._invocation.write_log("INFO", message, fields)

    def warn(self, message: str, **fields: Any) -> None:
        """A WARN line with optional JSON fields."""
        self._invocation.write_log("WARN", message, fields)

    warning = warn

    def error(self, message: str, **fields: Any) -> None:
        """An ERROR line with optional JSON fields."""
        self._invocation.write_log("ERROR", message, fields)
