"""What `io.parallel` returns under a completion policy: a `BatchResult` (issue 18 item 1).

    min_successful=M          done once M items completed; failures alone never end it
                              (when M is out of reach the rest still run: ALL_COMPLETED)
    tolerated_failures=F      done once more than F items failed
    tolerated_failure_ratio=R done once failures / all items > R (strictly)

The first rule met decides, in the order above, as items settle (AWS's durable SDK
`CompletionConfig` order). Items not started by then are never started (NOT_STARTED);
items already running run to their end and keep their status. The reason is
ALL_COMPLETED when the decision came with the last item (or none came),
MIN_SUCCESSFUL_REACHED when enough completed before that, FAILURE_TOLERANCE_EXCEEDED
when failures went past a tolerance (AWS's conformance scenario 8-17).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from .errors import ConfigError, TaskFailed

__all__ = ["BatchItem", "BatchItemStatus", "BatchResult", "CompletionPolicy", "CompletionReason"]


class BatchItemStatus(str, Enum):
    """How one item of a batch ended."""

    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    NOT_STARTED = "NOT_STARTED"


class CompletionReason(str, Enum):
    """Why a batch stopped (see the module docstring)."""

    ALL_COMPLETED = "ALL_COMPLETED"
    MIN_SUCCESSFUL_REACHED = "MIN_SUCCESSFUL_REACHED"
    FAILURE_TOLERANCE_EXCEEDED = "FAILURE_TOLERANCE_EXCEEDED"


@dataclass(frozen=True)
class BatchItem:
    """One item: its subtask key ("0", "1", ... or the dict key), status, output, error
    (``{"type", "message"}`` when FAILED)."""

    key: str
    status: BatchItemStatus
    output: Any = None
    error: dict[str, str] | None = None


@dataclass(frozen=True)
class BatchResult:
    """The items of an `io.parallel` in item order, and why it stopped."""

    items: list[BatchItem]
    completion_reason: CompletionReason

    def outputs(self) -> list[Any]:
        """The completed items' outputs, in item order."""
        return [i.output for i in self.items if i.status is BatchItemStatus.COMPLETED]

    def errors(self) -> list[dict[str, str]]:
        """The failed items' errors (``{"type", "message"}``), in item order."""
        return [i.error or {} for i in self.items if i.status is BatchItemStatus.FAILED]

    def raise_if_failed(self) -> BatchResult:
        """Raises `TaskFailed` for the first failed item (in item order); else returns self."""
        for item in self.items:
            if item.status is BatchItemStatus.FAILED:
                error = item.error or {}
                message = f"item {item.key!r} failed: {error.get('message', '')}"
                raise TaskFailed(item.key, {**error, "message": message})
        return self

    def to_json_data(self) -> dict[str, Any]:
        """The stored form (outputs as given: the parent task's serdes encodes them)."""
        return {
            "completion_reason": self.completion_reason.value,
            "items": [
                {"key": i.key, "status": i.status.value, "output": i.output, "error": i.error}
                for i in self.items
            ],
        }

    @classmethod
    def from_json_data(cls, data: dict[str, Any]) -> BatchResult:
        """The result `to_json_data` stored."""
        items = [BatchItem(i["key"], BatchItemStatus(i["status"]), i.get("output"), i.get("error"))
                 for i in data["items"]]  # fmt: skip
        return cls(items, CompletionReason(data["completion_reason"]))


@dataclass(frozen=True)
class CompletionPolicy:
    """`min_successful`, `tolerated_failures`, `tolerated_failure_ratio`, validated."""

    min_successful: int | None
    tolerated_failures: int | None
    tolerated_failure_ratio: float | None

    @classmethod
    def parse(
        cls, total: int, *, min_successful: object, tolerated_failures: object,
        tolerated_failure_ratio: object,
    ) -> CompletionPolicy | None:  # fmt: skip
        """None when no option is given; a ConfigError naming the option and its limit."""
        if min_successful is None and tolerated_failures is None and tolerated_failure_ratio is None:
            return None
        if min_successful is not None and not (
            _is_int(min_successful) and 1 <= min_successful <= max(total, 1)  # type: ignore[operator,unused-ignore]
        ):
            raise ConfigError(f"io.parallel min_successful must be an integer from 1 to the "
                              f"number of items ({total}), got {min_successful!r}")  # fmt: skip
        if tolerated_failures is not None and not (
            _is_int(tolerated_failures) and tolerated_failures >= 0  # type: ignore[operator]
        ):
            raise ConfigError(f"io.parallel tolerated_failures must be an integer of at least 0, "
                              f"got {tolerated_failures!r}")  # fmt: skip
        ratio = tolerated_failure_ratio
        if ratio is not None and not (
            isinstance(ratio, int | float) and not isinstance(ratio, bool) and 0 <= ratio <= 1
        ):
            raise ConfigError(f"io.parallel tolerated_failure_ratio must be a number from 0 to 1, "
                              f"got {ratio!r}")  # fmt: skip
        return cls(
            min_successful,  # type: ignore[arg-type]
            tolerated_failures,  # type: ignore[arg-type]
            None if ratio is None else float(ratio),
        )

    def decide(self, completed: int, failed: int, total: int) -> CompletionReason | None:
        """The reason the batch is decided now, or None while it is not."""
        settled = completed + failed
        reason = None
        if self.min_successful is not None and completed >= self.min_successful:
            reason = CompletionReason.MIN_SUCCESSFUL_REACHED
        elif (
            (self.tolerated_failures is not None and failed > self.tolerated_failures)
            or (self.tolerated_failure_ratio is not None and total
                and failed / total > self.tolerated_failure_ratio)
        ):  # fmt: skip
            reason = CompletionReason.FAILURE_TOLERANCE_EXCEEDED
        if reason is CompletionReason.MIN_SUCCESSFUL_REACHED and settled == total:
            return CompletionReason.ALL_COMPLETED  # nothing was left out: every item ran
        return reason


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
