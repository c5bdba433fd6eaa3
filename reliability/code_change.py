"""Code changed under running runs: a run recorded by version A of a job, resumed by version B.

    .venv/bin/python reliability/code_change.py

Version A runs task "a", task "b", waits ("pause", 60 s), then task "c". Each scenario
starts a run on A, lets it reach the wait, then resumes it on a fresh client whose job is
version B (the same store), and prints how the run ended and which fns ran again.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from triggerfish.core import IO, Client, Context, SkippingClock, SQLiteStore, invoke_trigger

Steps = Callable[[IO, Callable[[str], Any]], Awaitable[Any]]


async def version_a(io: IO, task: Callable[[str], Any]) -> Any:
    a = await io.run_task("a", task("a"))
    b = await io.run_task("b", task("b"))
    await io.wait("pause", 60)
    return [a, b, await io.run_task("c", task("c"))]


async def same(io: IO, task: Callable[[str], Any]) -> Any:
    return await version_a(io, task)


async def renamed(io: IO, task: Callable[[str], Any]) -> Any:
    a = await io.run_task("a", task("a"))
    b = await io.run_task("b-renamed", task("b-renamed"))
    await io.wait("pause", 60)
    return [a, b, await io.run_task("c", task("c"))]


async def removed(io: IO, task: Callable[[str], Any]) -> Any:
    a = await io.run_task("a", task("a"))
    await io.wait("pause", 60)
    return [a, await io.run_task("c", task("c"))]


async def reordered(io: IO, task: Callable[[str], Any]) -> Any:
    b = await io.run_task("b", task("b"))
    a = await io.run_task("a", task("a"))
    await io.wait("pause", 60)
    return [a, b, await io.run_task("c", task("c"))]


async def inserted(io: IO, task: Callable[[str], Any]) -> Any:
    a = await io.run_task("a", task("a"))
    x = await io.run_task("x", task("x"))
    b = await io.run_task("b", task("b"))
    await io.wait("pause", 60)
    return [a, x, b, await io.run_task("c", task("c"))]


async def appended(io: IO, task: Callable[[str], Any]) -> Any:
    done = await version_a(io, task)
    return [*done, await io.run_task("d", task("d"))]


async def task_became_wait(io: IO, task: Callable[[str], Any]) -> Any:
    a = await io.run_task("a", task("a"))
    await io.wait("b", 1)
    await io.wait("pause", 60)
    return [a, None, await io.run_task("c", task("c"))]


async def wait_became_task(io: IO, task: Callable[[str], Any]) -> Any:
    a = await io.run_task("a", task("a"))
    b = await io.run_task("b", task("b"))
    await io.run_task("pause", task("pause"))
    return [a, b, await io.run_task("c", task("c"))]


SCENARIOS: dict[str, Steps] = {
    "unchanged": same,
    "task renamed": renamed,
    "task removed": removed,
    "tasks reordered": reordered,
    "task inserted before the wait": inserted,
    "task appended after the recorded ones": appended,
    "task changed to a wait": task_became_wait,
    "wait changed to a task": wait_became_task,
}


@dataclass
class Result:
    """How a changed run ended: status, output or error, and fns run under version B."""

    scenario: str
    status: str
    output: Any
    error: Any
    ran_again: list[str]
    job_version: str | None


async def scenario(name: str, directory: Path) -> Result:
    """Starts a run on version A, then resumes it on version B = SCENARIOS[name]."""
    path = directory / f"{name.replace(' ', '-')}.db"
    calls: Counter[str] = Counter()

    def task(key: str) -> Callable[[], Awaitable[str]]:
        async def fn() -> str:
            calls[key] += 1
            return f"{key}-output"

        return fn

    def client_for(steps: Steps, version: str, clock: SkippingClock) -> Client:
        client = Client("change", store=SQLiteStore(path), clock=clock)

        @client.define_job(id="job", trigger=invoke_trigger(), version=version)
        async def job(payload: Any, io: IO, ctx: Context) -> Any:
            return await steps(io, task)

        return client

    clock = SkippingClock()
    first = client_for(version_a, "1.0.0", clock)
    run = await first.invoke("job")
    await first.execute(run.id)  # runs a and b, then waits
    calls.clear()
    clock.advance(120)
    second = client_for(SCENARIOS[name], "2.0.0", clock)
    for _ in range(5):
        outcome = await second.execute(run.id)
        if outcome.status.is_final:
            break
        clock.advance(120)
    final = await second.get_run(run.id)
    return Result(
        scenario=name,
        status=final.status.value,
        output=final.output,
        error=final.error,
        ran_again=sorted(calls.elements()),
        job_version=final.job_version,
    )


async def run_all() -> list[Result]:
    with tempfile.TemporaryDirectory() as directory:
        return [await scenario(name, Path(directory)) for name in SCENARIOS]


def main() -> None:
    results = asyncio.run(run_all())
    for r in results:
        shown = r.output if r.error is None else r.error
        print(f"{r.scenario:40} {r.status:10} ran under B: {r.ran_again}  "
              f"recorded version {r.job_version}  -> {shown}")  # fmt: skip


if __name__ == "__main__":
    main()
