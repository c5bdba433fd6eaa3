"""The job mix every campaign runs, its side-effect log, and the checks applied afterwards.

Each task appends one line to a side-effect log (run id, key, pid, time) before it returns,
so executions can be counted and tied to the process that did them:

    seq       four sequential tasks                      -> COMPLETED [n, 2n, 3n, 4n]
    retry     a task failing its first two executions    -> COMPLETED {"flaky": n, ...}
    doomed    a task that always fails (2 attempts)      -> FAILED naming "boom"
    waiter    task, io.wait 0.3 s, task                  -> COMPLETED [n, n + 1]
    parent    a task with two subtasks                   -> COMPLETED 3n
    sender    io.send_event("ping") starting a pong run  -> COMPLETED; one pong run each
    pong      (event "ping") one task                    -> COMPLETED n
    limited   concurrency_limit=1, two tasks             -> COMPLETED 2n
    fetcher   background_fetch of the local target       -> COMPLETED 200
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from triggerfish.core import (
    IO,
    Client,
    Context,
    RetryPolicy,
    RunStatus,
    TaskStatus,
    event_trigger,
    invoke_trigger,
)

JOBS = ("seq", "retry", "doomed", "waiter", "parent", "sender", "limited", "fetcher")
"""Jobs a campaign invokes directly, in turn (pong runs are started by sender runs)."""
TASK_SECONDS = 0.03
"""How long each task's fn takes after its side effect (the window a kill can hit)."""
TINY_RETRY = RetryPolicy(3, min_timeout=0.05, max_timeout=0.2, randomize=False)
FAST_RETRY = RetryPolicy(6, min_timeout=0.05, max_timeout=0.2, randomize=False)


class EffectLog:
    """An append-only file of side effects, one JSON line per task execution."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def append(self, run_id: str, key: str) -> None:
        """One side effect: a single O_APPEND write, atomic for lines this short."""
        line = json.dumps({"run": run_id, "key": key, "pid": os.getpid(), "t": time.time()})
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)

    def lines(self) -> list[dict[str, Any]]:
        """Every complete line written so far."""
        if not self.path.exists():
            return []
        out = []
        for raw in self.path.read_text().splitlines():
            try:
                out.append(json.loads(raw))
            except json.JSONDecodeError:  # a line cut by a kill mid-write (never seen so far)
                continue
        return out

    def count(self, run_id: str, key: str) -> int:
        """How many times this task of this run has executed so far."""
        return sum(1 for line in self.lines() if line["run"] == run_id and line["key"] == key)


def define_mix(client: Client, effects: EffectLog, target_url: str | None) -> None:
    """Defines the campaign jobs on `client` (see the module docstring)."""

    def step(ctx: Context, key: str, value: Any) -> Any:
        async def fn() -> Any:
            effects.append(ctx.run.id, key)
            await asyncio.sleep(TASK_SECONDS)
            return value

        return fn

    @client.define_job(id="seq", trigger=invoke_trigger())
    async def seq(payload: Any, io: IO, ctx: Context) -> Any:
        n = payload["n"]
        return [await io.run_task(f"s{i}", step(ctx, f"s{i}", n * i)) for i in range(1, 5)]

    @client.define_job(id="retry", trigger=invoke_trigger())
    async def retry(payload: Any, io: IO, ctx: Context) -> Any:
        n = payload["n"]

        async def flaky() -> int:
            done_before = effects.count(ctx.run.id, "flaky")
            effects.append(ctx.run.id, "flaky")
            await asyncio.sleep(TASK_SECONDS)
            if done_before < 2:
                raise RuntimeError(f"flaky execution {done_before + 1} fails")
            return n

        first = await io.run_task("flaky", flaky, retry=FAST_RETRY)
        return {"flaky": first, "after": await io.run_task("after", step(ctx, "after", n + 1))}

    @client.define_job(id="doomed", trigger=invoke_trigger())
    async def doomed(payload: Any, io: IO, ctx: Context) -> Any:
        async def boom() -> None:
            effects.append(ctx.run.id, "boom")
            await asyncio.sleep(TASK_SECONDS)
            raise ValueError("boom always fails")

        await io.run_task("boom", boom, retry=TINY_RETRY)

    @client.define_job(id="waiter", trigger=invoke_trigger())
    async def waiter(payload: Any, io: IO, ctx: Context) -> Any:
        n = payload["n"]
        a = await io.run_task("a", step(ctx, "a", n))
        await io.wait("nap", 0.3)
        return [a, await io.run_task("b", step(ctx, "b", n + 1))]

    @client.define_job(id="parent", trigger=invoke_trigger())
    async def parent(payload: Any, io: IO, ctx: Context) -> Any:
        n = payload["n"]

        async def outer() -> int:
            one = await io.run_task("inner1", step(ctx, "inner1", n))
            two = await io.run_task("inner2", step(ctx, "inner2", 2 * n))
            effects.append(ctx.run.id, "outer")  # after the children: see EffectLog checks
            return int(one) + int(two)

        return await io.run_task("outer", outer)

    @client.define_job(id="sender", trigger=invoke_trigger())
    async def sender(payload: Any, io: IO, ctx: Context) -> Any:
        n = payload["n"]
        await io.run_task("before", step(ctx, "before", n))
        event = await io.send_event("send", "ping", {"n": n})
        return {"runs": len(event["run_ids"])}

    @client.define_job(id="pong", trigger=event_trigger("ping"))
    async def pong(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.run_task("echo", step(ctx, "echo", payload["n"]))

    @client.define_job(id="limited", trigger=invoke_trigger(), concurrency_limit=1)
    async def limited(payload: Any, io: IO, ctx: Context) -> Any:
        n = payload["n"]
        return await io.run_task("a", step(ctx, "a", n)) + await io.run_task(
            "b", step(ctx, "b", n)
        )

    @client.define_job(id="fetcher", trigger=invoke_trigger())
    async def fetcher(payload: Any, io: IO, ctx: Context) -> Any:
        answer = await io.background_fetch("get", f"{target_url}/ok?run={ctx.run.id}")
        return await io.run_task("use", step(ctx, "use", answer["status"]))


def expected(job_id: str, n: int) -> tuple[RunStatus, Any]:
    """The final status and output a run of `job_id` with payload {"n": n} must end with."""
    table: dict[str, tuple[RunStatus, Any]] = {
        "seq": (RunStatus.COMPLETED, [n, 2 * n, 3 * n, 4 * n]),
        "retry": (RunStatus.COMPLETED, {"flaky": n, "after": n + 1}),
        "doomed": (RunStatus.FAILED, None),
        "waiter": (RunStatus.COMPLETED, [n, n + 1]),
        "parent": (RunStatus.COMPLETED, 3 * n),
        "sender": (RunStatus.COMPLETED, {"runs": 1}),
        "pong": (RunStatus.COMPLETED, n),
        "limited": (RunStatus.COMPLETED, 2 * n),
        "fetcher": (RunStatus.COMPLETED, 200),
    }
    return table[job_id]


@dataclass
class Verdict:
    """What the checks found: figures, and every fault as one readable line."""

    figures: Counter[str] = field(default_factory=Counter)
    faults: list[str] = field(default_factory=list)

    def fault(self, text: str) -> None:
        self.faults.append(text)

    def summary(self) -> str:
        lines = [f"{name}: {value}" for name, value in sorted(self.figures.items())]
        lines.append(f"faults: {len(self.faults)}")
        lines.extend(f"  FAULT {text}" for text in self.faults[:40])
        if len(self.faults) > 40:
            lines.append(f"  ... and {len(self.faults) - 40} more")
        return "\n".join(lines)


class OutputWatch:
    """Samples final runs and recorded task outputs; any later change is a fault."""

    def __init__(self) -> None:
        self.runs: dict[str, tuple[str, str]] = {}
        self.tasks: dict[tuple[str, str], tuple[str, str | None]] = {}
        self.samples = 0
        self.changes: list[str] = []

    def sample(self, store: Any, run_ids: Iterable[str]) -> None:
        for run_id in run_ids:
            record = store.get_run(run_id)
            if record is None:
                continue
            self.samples += 1
            history = store.load_history(run_id)
            for task in history.tasks.values():
                if not task.status.is_final:
                    continue
                seen = (task.status.value, task.output_json)
                before = self.tasks.setdefault((run_id, task.id), seen)
                if before != seen:
                    self.changes.append(f"run {run_id} task {task.key}: {before} -> {seen}")
            if record.status.is_final:
                now = (record.status.value, record.output_json or "")
                was = self.runs.setdefault(run_id, now)
                if was != now:
                    self.changes.append(f"run {run_id}: {was} -> {now}")


def verify(
    store: Any,
    runs: dict[str, tuple[str, int]],
    effects: EffectLog,
    *,
    killed_pids: set[int] | None = None,
    watch: OutputWatch | None = None,
    fetch_hits: Counter[str] | None = None,
    failed_invocations: int = 0,
) -> Verdict:
    """Checks every run of `runs` (run id -> (job id, n)) once all are meant to be final.

    A task's extra executions (beyond the attempts it recorded) are allowed only when that
    many of its executions were done by a killed process that wrote no later side effect for
    the same run (so the kill may have landed before the task was recorded), or, in all,
    up to `failed_invocations` (invocations stopped by a store error after a task's fn ran,
    or that overran their lease so another could take over).
    """
    unexplained_budget = failed_invocations
    verdict = Verdict()
    killed = killed_pids or set()
    by_task: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    by_run: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in effects.lines():
        by_task[(line["run"], line["key"])].append(line)
        by_run[line["run"]].append(line)
    for run_id, (job_id, n) in with_started_runs(store, runs).items():
        record = store.get_run(run_id)
        verdict.figures["runs"] += 1
        if record is None:
            verdict.fault(f"run {run_id} ({job_id}) is missing")
            continue
        verdict.figures[f"runs {record.status.value}"] += 1
        want_status, want_output = expected(job_id, n)
        if not record.status.is_final:
            verdict.fault(
                f"run {run_id} ({job_id}) stuck in {record.status.value} (due_at "
                f"{record.due_at}, resume_at {record.resume_at}, lease "
                f"{record.lease_owner and record.lease_owner[:8]} to {record.lease_expires_at}, "
                f"crashes {record.crashes}, invocations {record.invocation_count}, "
                f"queued {record.queued_reason}, slot {record.slot})"
            )
            continue
        if record.status is not want_status:
            verdict.fault(
                f"run {run_id} ({job_id}) ended {record.status.value}, not {want_status.value}:"
                f" {record.error}"
            )
            continue
        output = json.loads(record.output_json) if record.output_json else None
        if want_status is RunStatus.COMPLETED and output != want_output:
            verdict.fault(f"run {run_id} ({job_id}) output {output!r}, not {want_output!r}")
        history = store.load_history(run_id)
        for task in history.tasks.values():
            verdict.figures["tasks recorded"] += 1
            lines = by_task.get((run_id, task.key), [])
            if task.kind != "task" or not lines:
                continue
            verdict.figures["task executions"] += len(lines)
            extra = len(lines) - task.attempts
            if extra <= 0:
                continue
            verdict.figures["repeated executions"] += extra
            cut = [line for line in lines if _cut_by_kill(line, by_run[run_id], killed)]
            spare = min(extra - len(cut), unexplained_budget) if extra > len(cut) else 0
            unexplained_budget -= spare
            if spare:
                verdict.figures["repeats explained by a failed write or an expired lease"] += spare
            if extra > len(cut) + spare:
                pids = [line["pid"] for line in lines]
                verdict.fault(
                    f"run {run_id} ({job_id}) task {task.key}: {len(lines)} executions for"
                    f" {task.attempts} recorded attempt(s), only {len(cut)} explained by a kill"
                    f" (pids {pids})"
                )
            else:
                verdict.figures["repeats explained by a kill"] += extra - spare
        if task_status := [t for t in history.tasks.values() if t.status is TaskStatus.RUNNING]:
            keys = [t.key for t in task_status]
            verdict.fault(f"run {run_id} ({job_id}) ended with RUNNING tasks {keys}")
    if fetch_hits is not None:
        for run_id, (job_id, _) in runs.items():
            if job_id == "fetcher":
                hits = fetch_hits.get(f"/ok?run={run_id}", 0)
                verdict.figures["fetch requests"] += hits
                verdict.figures["fetch requests repeated"] += max(0, hits - 1)
    if watch is not None:
        verdict.figures["output samples"] = watch.samples
        for change in watch.changes:
            verdict.fault(f"recorded output changed: {change}")
    return verdict


def _cut_by_kill(line: dict[str, Any], run_lines: list[dict[str, Any]], killed: set[int]) -> bool:
    """True when the process of `line` was killed and did nothing later for that run."""
    if line["pid"] not in killed:
        return False
    return not any(o["pid"] == line["pid"] and o["t"] > line["t"] for o in run_lines)


def with_started_runs(store: Any, runs: dict[str, tuple[str, int]]) -> dict[str, tuple[str, int]]:
    """`runs` and the pong run each sender started (or a placeholder id, never found)."""
    all_runs = dict(runs)
    for run_id, (job_id, n) in runs.items():
        sent = store.get_event(f"{run_id}:send") if job_id == "sender" else None
        if sent is not None or (job_id == "sender" and _completed(store, run_id)):
            all_runs[_pong_run_id(store, run_id)] = ("pong", n)
    return all_runs


def all_final(store: Any, runs: dict[str, tuple[str, int]]) -> bool:
    """True once every run of `runs`, and every run they started, has ended.

    A campaign stops on this, not on `runs` alone: the last sender's pong run may still be
    PENDING when every run the campaign made has ended.
    """
    if not all((r := store.get_run(i)) is not None and r.status.is_final for i in runs):
        return False
    return all(
        (r := store.get_run(i)) is not None and r.status.is_final
        for i in with_started_runs(store, runs)
    )


def _completed(store: Any, run_id: str) -> bool:
    record = store.get_run(run_id)
    return record is not None and record.status is RunStatus.COMPLETED


def _pong_run_id(store: Any, sender_run_id: str) -> str:
    event = store.get_event(f"{sender_run_id}:send")
    if event is None or not event.run_ids:
        return f"(no pong run for {sender_run_id})"
    return str(event.run_ids[0])
