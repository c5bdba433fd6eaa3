"""OpenTelemetry tracing, an optional extra (``pip install 'triggerfish[otel]'``).

    from triggerfish.core.otel import instrument
    instrument(client)                      # or TRIGGERFISH_OTEL=1 with Client.from_env

    span "triggerfish.invocation"   one per invocation; parent: the span that was active when
                                    the run was started (its W3C traceparent is kept on the run)
      span "task <key>"             one per task: key, attempt, executed or replayed, outcome
      events                        "wait" (a wait-kind record or a suspension), "log" lines

Nothing here imports opentelemetry until `instrument` is called: a client that is not
instrumented never loads it (the engine only tests ``runtime.tracer is not None``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .types import TaskStatus

if TYPE_CHECKING:
    from .runtime import HasRuntime, Runtime
    from .store.base import TaskRecord
    from .tracing import Traced

__all__ = ["RunTracer", "instrument"]

TRACER_NAME = "triggerfish"
ENV_OTEL = "TRIGGERFISH_OTEL"
"""`Client.from_env` instruments the client when this is 1/true/yes."""


def instrument(owner: Runtime | HasRuntime, tracer_provider: Any = None) -> RunTracer:
    """Turns tracing on for a client (or runtime); `tracer_provider` defaults to the global one."""
    from .runtime import runtime_of

    runtime = runtime_of(owner)
    tracer = RunTracer(tracer_provider)
    runtime.tracer = tracer
    return tracer


def _ns(seconds: float | None) -> int | None:
    return None if seconds is None else int(seconds * 1_000_000_000)


class RunTracer:
    """Spans for invocations and tasks, built on the OpenTelemetry API (imported here)."""

    def __init__(self, tracer_provider: Any = None) -> None:
        from opentelemetry import context, trace
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        self._trace = trace
        self._context = context
        self._propagator = TraceContextTextMapPropagator()
        self.tracer = trace.get_tracer(TRACER_NAME, tracer_provider=tracer_provider)

    # -- trace context across runs ------------------------------------------------------------

    def traceparent(self) -> str | None:
        """The W3C traceparent of the span active now (None without one)."""
        if not self._trace.get_current_span().get_span_context().is_valid:
            return None
        carrier: dict[str, str] = {}
        self._propagator.inject(carrier)
        return carrier.get("traceparent")

    # -- one invocation -----------------------------------------------------------------------

    @contextmanager
    def invocation(self, inv: Traced) -> Iterator[None]:
        """The invocation's span, a child of the span that started the run (if any)."""
        run = inv.run
        parent = None
        traceparent = getattr(run, "traceparent", None)
        if traceparent:
            parent = self._propagator.extract({"traceparent": traceparent})
        attributes: dict[str, Any] = {"triggerfish.run_id": run.id, "triggerfish.job_id": run.job_id,
                      "triggerfish.invocation": run.invocation_count}  # fmt: skip
        with self.tracer.start_as_current_span(
            "triggerfish.invocation", context=parent, attributes=attributes
        ) as span:
            state = inv.scratch[__name__] = {"span": span, "tasks": {}}
            try:
                yield
            finally:
                for task_span, token in list(state["tasks"].values()):
                    task_span.set_attribute("triggerfish.outcome", "INTERRUPTED")
                    task_span.end()
                state["tasks"].clear()
                span.set_attribute("triggerfish.executed", inv.executed_count)
                span.set_attribute("triggerfish.replayed", inv.replayed_count)

    def outcome(self, inv: Traced, status: str) -> None:
        """The status the invocation ended with, on its span."""
        state = inv.scratch.get(__name__)
        if state is not None:
            state["span"].set_attribute("triggerfish.status", status)

    # -- tasks ----------------------------------------------------------------------------------

    @contextmanager
    def task(self, inv: Traced, task: TaskRecord) -> Iterator[None]:
        """A task's fn runs: its span is current, so subtasks and started runs nest under it.

        The span ends when the task's record is written (`recorded`), or with the invocation.
        """
        state = inv.scratch.get(__name__)
        if state is None:
            yield
            return
        span = self.tracer.start_span(f"task {task.key}", attributes={
            "triggerfish.task.key": task.key, "triggerfish.task.id": task.id,
            "triggerfish.task.attempt": task.attempts, "triggerfish.task.replayed": False,
        })  # fmt: skip
        token = self._context.attach(self._trace.set_span_in_context(span))
        state["tasks"][task.id] = (span, token)
        try:
            yield
        finally:
            self._context.detach(token)

    def recorded(self, inv: Traced, task: TaskRecord) -> None:
        """A record written: ends its task span (executed), or notes a wait."""
        state = inv.scratch.get(__name__)
        if state is None:
            return
        if task.kind != "task" and task.id not in state["tasks"]:
            state["span"].add_event(task.kind, {
                "triggerfish.task.key": task.key, "triggerfish.task.status": task.status.value,
                **({"triggerfish.resume_at": task.resume_at} if task.resume_at else {}),
            })  # fmt: skip
            return
        if task.status is TaskStatus.RUNNING:
            return
        entry = state["tasks"].pop(task.id, None)
        if entry is None:
            return
        span, _ = entry
        span.set_attribute("triggerfish.outcome", task.status.value)
        if task.status is TaskStatus.ERRORED and task.error:
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR,
                                               str(task.error.get("message", ""))))  # fmt: skip
        span.end()

    def replayed(self, inv: Traced, key: str, record: TaskRecord) -> None:
        """A recorded task returned without running: a short span saying so."""
        state = inv.scratch.get(__name__)
        if state is None:
            return
        span = self.tracer.start_span(f"task {key}", attributes={
            "triggerfish.task.key": key, "triggerfish.task.id": record.id,
            "triggerfish.task.attempt": record.attempts, "triggerfish.task.replayed": True,
            "triggerfish.outcome": record.status.value,
        })  # fmt: skip
        span.end()

    def suspended(self, inv: Traced, resume_at: float | None, reason: str) -> None:
        """The run stops here (a wait, a yield, a cancel): an event on the invocation span."""
        state = inv.scratch.get(__name__)
        if state is not None:
            attributes: dict[str, Any] = {"triggerfish.reason": reason}
            if resume_at is not None:
                attributes["triggerfish.resume_at"] = resume_at
            self._trace.get_current_span().add_event("wait" if reason == "wait" else "suspend",
                                                     attributes)  # fmt: skip

    def logged(self, inv: Traced, level: str, message: str) -> None:
        """An io.logger line: an event on the current (task or invocation) span."""
        if __name__ in inv.scratch:
            self._trace.get_current_span().add_event(
                "log", {"log.severity": level, "log.message": message}
            )
