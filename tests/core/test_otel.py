"""OpenTelemetry spans (the [otel] extra), checked with the SDK's in-memory exporter."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from support.jobs import make_client
from triggerfish.core import IO, Context, RunStatus, SQLiteStore, event_trigger, invoke_trigger
from triggerfish.core.otel import instrument
from triggerfish.core.testing import drive


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


async def test_spans_follow_a_request_through_its_runs_tasks_waits_and_logs() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    client = make_client(SQLiteStore(":memory:"))
    instrument(client, tracer_provider=provider)

    @client.define_job(id="parent", trigger=invoke_trigger())
    async def parent(payload: Any, io: IO, ctx: Context) -> Any:
        io.logger.info("starting")

        async def outer() -> int:
            io.logger.info("inside outer")
            return await io.run_task("inner", lambda: 1) + 1

        value = await io.run_task("outer", outer)
        await io.wait("nap", seconds=30)
        await io.send_event("notify", "child.go", {"v": value})
        return value

    @client.define_job(id="child", trigger=event_trigger("child.go"))
    async def child(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.run_task("work", lambda: payload["v"])

    request_tracer = provider.get_tracer("test")
    with request_tracer.start_as_current_span("POST /signup") as request:
        run = await client.invoke("parent", None)
    assert (await drive(client, run.id)).status is RunStatus.COMPLETED
    child_run = (await client.list_runs(job_id="child")).runs[0]
    assert (await drive(client, child_run.id)).status is RunStatus.COMPLETED

    spans = exporter.get_finished_spans()
    trace_id = request.get_span_context().trace_id
    assert {s.context.trace_id for s in spans} == {trace_id}  # one trace, request to child run

    invocations = [s for s in spans if s.name == "triggerfish.invocation"]
    parents = [s for s in invocations if attrs(s)["triggerfish.run_id"] == run.id]
    assert len(parents) == 2
    assert all(s.parent is not None and s.parent.span_id == request.get_span_context().span_id
               for s in parents)
    assert [attrs(s)["triggerfish.status"] for s in parents] == ["WAITING", "COMPLETED"]

    def task_spans(key: str) -> list[ReadableSpan]:
        return [s for s in spans if s.name == f"task {key}"]

    executed, replayed = sorted(task_spans("outer"), key=lambda s: s.start_time or 0)
    assert attrs(executed)["triggerfish.task.replayed"] is False
    assert attrs(executed)["triggerfish.outcome"] == "COMPLETED"
    assert attrs(executed)["triggerfish.task.attempt"] == 1
    assert executed.parent is not None and executed.parent.span_id == parents[0].context.span_id
    assert attrs(replayed)["triggerfish.task.replayed"] is True
    assert replayed.parent is not None and replayed.parent.span_id == parents[1].context.span_id
    (inner,) = task_spans("inner")  # a subtask runs once, under its parent's span
    assert inner.parent is not None and inner.parent.span_id == executed.context.span_id

    assert any(e.name == "log" and e.attributes and e.attributes["log.message"] == "inside outer"
               for e in executed.events)
    first_events = [e.name for e in parents[0].events]
    assert "wait" in first_events and "log" in first_events

    (notify,) = [s for s in task_spans("notify") if not attrs(s)["triggerfish.task.replayed"]]
    (child_invocation,) = [s for s in invocations
                           if attrs(s)["triggerfish.run_id"] == child_run.id]
    assert child_invocation.parent is not None
    assert child_invocation.parent.span_id == notify.context.span_id


def test_the_engine_does_not_import_opentelemetry_unless_instrumented() -> None:
    script = textwrap.dedent("""
        import asyncio, sys
        from triggerfish.core import Client, SQLiteStore, SkippingClock, invoke_trigger
        from triggerfish.core.testing import drive

        client = Client("t", store=SQLiteStore(":memory:"), clock=SkippingClock())

        @client.define_job(id="j", trigger=invoke_trigger())
        async def j(payload, io, ctx):
            io.logger.info("hi")
            await io.wait("w", seconds=5)
            return await io.run_task("t", lambda: 1)

        async def main():
            run = await client.invoke("j", None)
            await drive(client, run.id)
            await client.tick()

        asyncio.run(main())
        loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry"))
        assert not loaded, loaded
        print("clean")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "clean"
