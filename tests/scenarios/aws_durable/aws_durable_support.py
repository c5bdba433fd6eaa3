"""Helpers for the AWS durable-execution scenarios mapped onto our API (see README.md).

Each scenario defines its tiny job inline on a `Client` with a SkippingClock and a dispatcher
that does nothing (so the app under uvicorn never runs a run behind the test's back), then
drives it with `triggerfish.core.testing.drive`.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import httpx
from triggerfish.core import Client, SkippingClock, invoke_trigger
from triggerfish.core.testing import drive

TESTS = Path(__file__).resolve().parents[2]


class NullDispatcher:
    """A dispatcher that does nothing: the test drives every invocation itself."""

    async def dispatch(self, run_id: str, at: float) -> None:
        return None


def make_client(store: Any, **options: Any) -> Client:
    """A client on `store` with a SkippingClock and a do-nothing dispatcher."""
    options.setdefault("clock", SkippingClock())
    options.setdefault("dispatcher", NullDispatcher())
    return Client("aws", store=store, **options)


def job(client: Client, job_id: str = "job") -> Any:
    """`@job(client)`: defines an invoked job (the AWS handler) from a run function."""
    return client.define_job(id=job_id, trigger=invoke_trigger())


async def run_job(client: Client, payload: Any = None, job_id: str = "job") -> Any:
    """Invokes the job, drives it to its end (tree of child runs included), returns the Run."""
    run = await client.invoke(job_id, payload)
    await drive_tree(client, run.id)
    return await client.get_run(run.id)


async def drive_tree(client: Client, run_id: str, *, max_rounds: int = 100) -> None:
    """Drives a run and the child runs it starts (io.invoke_and_wait) until it is final."""
    clock = client.clock
    for _ in range(max_rounds):
        outcome = await client.execute(run_id)
        if outcome.status.is_final:
            return
        children = [
            r for r in (await client.list_runs(limit=200)).runs
            if r.parent_run_id == run_id and not r.status.is_final
        ]  # fmt: skip
        for child in children:
            await drive_tree(client, child.id)
        if not children and outcome.resume_at is not None:
            assert isinstance(clock, SkippingClock)
            clock.advance_to(outcome.resume_at)
    raise AssertionError(f"run {run_id} did not end in {max_rounds} rounds")


async def drive_past_timeouts(client: Client, run_id: str) -> Any:
    """Drives a run through the timeouts of its outside waits (nobody answers them)."""
    return await drive(client, run_id, skip_timeouts=True)


async def start(client: Client, payload: Any = None, job_id: str = "job") -> str:
    """Invokes the job and runs its first invocation; returns the run id."""
    run = await client.invoke(job_id, payload)
    await client.execute(run.id)
    return run.id


def load_threaded_server() -> Any:
    """`ThreadedServer` of tests/adapters/conftest.py (loaded by path: `adapters` is taken)."""
    spec = importlib.util.spec_from_file_location(
        "aws_durable_adapters_conftest", TESTS / "adapters" / "conftest.py"
    )
    assert spec is not None and spec.loader is not None
    module = sys.modules.get(spec.name)
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return module.ThreadedServer


class SwitchApp:
    """An ASGI app that forwards to the current test's app (one uvicorn per module)."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if self.app is None:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"{}"})
            return
        await self.app(scope, receive, send)


def post(url: str, body: Any = None, *, raw: bytes | None = None) -> httpx.Response:
    """POSTs JSON (or raw bytes) to a callback URL, as an outside system would."""
    if raw is not None:
        return httpx.post(url, content=raw, timeout=10.0)
    return httpx.post(url, content=json.dumps(body).encode(), timeout=10.0,
                      headers={"content-type": "application/json"})  # fmt: skip


def status_of(value: Any) -> str:
    """The name of an enum member or a plain string (CompletionReason, item statuses)."""
    return str(getattr(value, "value", value))


def projection(batch: Any) -> dict[str, Any]:
    """AWS's batch projection from our BatchResult: counts over the started items."""
    statuses = [status_of(item.status) for item in batch.items]
    completed, failed = statuses.count("COMPLETED"), statuses.count("FAILED")
    return {
        "completionReason": status_of(batch.completion_reason),
        "hasFailure": failed > 0,
        "successCount": completed,
        "failureCount": failed,
        "totalCount": completed + failed,
        "notStarted": statuses.count("NOT_STARTED"),
    }


