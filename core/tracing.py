"""`Tracer`: what the engine tells a tracer (core/otel.py implements it).

A protocol of its own, below both the runtime (which holds a tracer) and the engine (which
calls it), so neither imports core/otel.py and nothing loads opentelemetry until
`instrument` is called.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .store.base import RunRecord, TaskRecord

__all__ = ["Traced", "Tracer"]


class Traced(Protocol):
    """What a tracer reads of an invocation."""

    run: RunRecord
    scratch: dict[str, Any]
    executed_count: int
    replayed_count: int


class Tracer(Protocol):
    """Spans for invocations and tasks; every method is called only when tracing is on."""

    def traceparent(self) -> str | None:
        """The W3C traceparent of the span active now (kept on a run started under it)."""
        ...

    def invocation(self, inv: Traced) -> AbstractContextManager[None]:
        """The span of one invocation."""
        ...

    def outcome(self, inv: Traced, status: str) -> None:
        """The invocation ended with this run status."""
        ...

    def task(self, inv: Traced, task: TaskRecord) -> AbstractContextManager[None]:
        """The span of a task whose fn runs inside."""
        ...

    def recorded(self, inv: Traced, task: TaskRecord) -> None:
        """A task's record was written."""
        ...

    def replayed(self, inv: Traced, key: str, record: TaskRecord) -> None:
        """A recorded task was replayed."""
        ...

    def suspended(self, inv: Traced, resume_at: float | None, reason: str) -> None:
        """The run suspended (a wait or a yield)."""
        ...

    def logged(self, inv: Traced, level: str, message: str) -> None:
        """An `io.logger` line was written."""
        ...
