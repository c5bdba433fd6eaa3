"""Replay overhead and store calls per task, on SQLite and on DynamoDB (moto's HTTP server).

    .venv/bin/python bench/replay.py [--tasks 1000] [--backends sqlite,moto,dynalite]
                                     [--scale 10000,100000]

Prints, per backend: the cost of executing N new tasks, the cost of replaying them,
and the store calls (reads, writes) per new task, per replayed task and per invocation.
Then, on SQLite, replay at scale: the time to the first new task after 10,000 and 100,000
recorded tasks, split into reading the history and the rest, and the memory a recorded
task takes once loaded (tracemalloc). Figures only: no asserts; docs/performance.md
quotes a run of this script.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import tracemalloc
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from triggerfish.core import IO, Client, Context, SQLiteStore, invoke_trigger
from triggerfish.core.engine import task_id_for
from triggerfish.core.store.base import TaskRecord
from triggerfish.core.types import TaskStatus

READS = {"get_run", "get_task", "load_history", "list_runs", "list_due_runs", "get_event"}


class CountingStore:
    """Wraps a store and counts its primitive calls (and DynamoDB API calls, when it has any)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.offload = inner.offload
        self.calls: Counter[str] = Counter()
        self.api: Counter[str] = Counter()
        db = getattr(inner, "_db", None)
        if hasattr(db, "meta"):
            db.meta.events.register("before-call.dynamodb.*", self._count_api)

    def _count_api(self, model: Any, **_: Any) -> None:
        self.api[model.name] += 1

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return attr(*args, **kwargs)

        return counted

    def reset(self) -> None:
        self.calls.clear()
        self.api.clear()

    def split(self) -> tuple[int, int]:
        if self.api:
            reads = sum(n for op, n in self.api.items() if op in {"GetItem", "Query", "Scan"})
            return reads, sum(self.api.values()) - reads
        reads = sum(n for op, n in self.calls.items() if op in READS)
        return reads, sum(self.calls.values()) - reads


def make_client(store: CountingStore, tasks: int) -> Client:
    client = Client("bench", store=store)  # type: ignore[arg-type]

    @client.define_job(id="many", trigger=invoke_trigger())
    async def many(payload: Any, io: IO, ctx: Context) -> int:
        for n in range(tasks):
            await io.run_task(f"task-{n}", lambda n=n: {"n": n, "pad": "x" * 80})
        await io.wait("pause", seconds=0.01)
        return tasks

    @client.define_job(id="empty", trigger=invoke_trigger())
    async def empty(payload: Any, io: IO, ctx: Context) -> int:
        await io.wait("pause", seconds=0.01)
        return 0

    return client


async def measure(label: str, inner: Any, tasks: int) -> dict[str, Any]:
    store = CountingStore(inner)
    client = make_client(store, tasks)
    figures: dict[str, Any] = {"backend": label}

    async def one_invocation(run_id: str) -> tuple[float, tuple[int, int], Counter[str]]:
        store.reset()
        started = time.perf_counter()
        await client.execute(run_id)
        return time.perf_counter() - started, store.split(), Counter(store.calls)

    # Two baselines: a run's first invocation reads nothing (the lease returns the run and
    # no history can exist yet), a later one reads its history.
    base = await client.invoke("empty", None)
    _, first_calls, _ = await one_invocation(base.id)
    await asyncio.sleep(0.02)
    base_seconds, base_calls, _ = await one_invocation(base.id)

    run = await client.invoke("many", None)
    print(f"[{label}] executing {tasks} new tasks ...", flush=True)
    new_seconds, (new_reads, new_writes), _ = await one_invocation(run.id)
    await asyncio.sleep(0.02)
    print(f"[{label}] replaying them ...", flush=True)
    replay_seconds, (replay_reads, replay_writes), calls = await one_invocation(run.id)
    history = await asyncio.to_thread(inner.load_history, run.id)

    figures.update(
        new_task_ms=1000 * new_seconds / tasks,
        writes_per_new_task=(new_writes - first_calls[1]) / tasks,
        reads_per_new_task=(new_reads - first_calls[0]) / tasks,
        replay_per_task_us=1e6 * (replay_seconds - base_seconds) / tasks,
        writes_per_replayed_task=(replay_writes - base_calls[1]) / tasks,
        replay_invocation_ms=1000 * replay_seconds,
        replay_reads=replay_reads,
        replay_writes=replay_writes,
        history_pages=history.pages,
        replay_calls=dict(calls),
    )
    return figures


def backends(names: list[str]) -> list[tuple[str, Any, Any]]:
    from support.servers import dynalite_server, moto_server

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    made = []
    for name in names:
        if name == "sqlite":
            made.append((name, None, None))
        elif name == "moto":
            made.append((name, moto_server, None))
        elif name == "dynalite":
            made.append((name, dynalite_server, None))
        else:
            raise SystemExit(f"unknown backend {name!r}; choose from sqlite, moto, dynalite")
    return made


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--backends", default="sqlite,moto,dynalite")
    parser.add_argument("--scale", default="10000,100000",
                        help="recorded tasks for the replay-at-scale figures ('' for none)")  # fmt: skip
    args = parser.parse_args()
    rows = []
    for name, server, _ in backends(args.backends.split(",")):
        if server is None:
            path = ROOT / "bench" / f".replay-{uuid.uuid4().hex[:6]}.db"
            try:
                rows.append(await measure(name, SQLiteStore(path), args.tasks))
            finally:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
            continue
        from triggerfish.core import DynamoDBStore

        with server() as url:
            store = DynamoDBStore(f"bench-{uuid.uuid4().hex[:8]}", endpoint_url=url, region="us-east-1")
            store.create_table()
            rows.append(await measure(name, store, args.tasks))

    print(f"\n{args.tasks} tasks of ~100 bytes, Python {sys.version.split()[0]}")
    header = ("backend", "new task ms", "writes/new task", "reads/new task",
              "writes/replayed task", "replay us/task",
              "replay invocation ms", "reads, writes per replay invocation", "history pages")
    print(" | ".join(header))
    for row in rows:
        print(
            f"{row['backend']} | {row['new_task_ms']:.2f} | {row['writes_per_new_task']:.2f} | "
            f"{row['reads_per_new_task']:.3f} | {row['writes_per_replayed_task']:.3f} | "
            f"{row['replay_per_task_us']:.1f} | {row['replay_invocation_ms']:.1f} | "
            f"{row['replay_reads']}, {row['replay_writes']} | {row['history_pages']}"
        )
        print(f"    store calls in the replay invocation: {row['replay_calls']}")
    for recorded in [int(n) for n in args.scale.split(",") if n]:
        await replay_at_scale(recorded)


class TimedHistory:
    """Wraps a store and times its `load_history` (the read part of a replay)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.offload = inner.offload
        self.read_seconds = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def load_history(self, run_id: str) -> Any:
        started = time.perf_counter()
        try:
            return self.inner.load_history(run_id)
        finally:
            self.read_seconds += time.perf_counter() - started


async def replay_at_scale(recorded: int) -> None:
    """Time to the first new task after `recorded` completed tasks, and memory per task."""
    path = ROOT / "bench" / f".scale-{uuid.uuid4().hex[:6]}.db"
    inner = SQLiteStore(path)
    store = TimedHistory(inner)
    client = Client("bench", store=store)  # type: ignore[arg-type]
    reached: list[float] = []

    @client.define_job(id="long", trigger=invoke_trigger())
    async def long(payload: Any, io: IO, ctx: Context) -> int:
        await io.wait("pause", seconds=0.01)  # the first invocation ends here
        for n in range(recorded):
            await io.run_task(f"s{n}", lambda n=n: n)
        await io.run_task("new", lambda: reached.append(time.perf_counter()))
        return recorded

    try:
        run = await client.invoke("long", None)
        # A first invocation leases the run and records the wait: its tasks are then
        # recorded (as a real run's are, by invocations that each took the lease), and the
        # measured invocation is a later one, which reads the history.
        await client.execute(run.id)
        await asyncio.sleep(0.02)
        now = time.time()
        with inner._lock:  # the recorded history, written as the engine would have written it
            inner._db.execute("BEGIN")
            for n in range(recorded):
                key = f"s{n}"
                inner.put_task(TaskRecord(
                    run_id=run.id, id=task_id_for(run.id, None, key), key=key,
                    status=TaskStatus.COMPLETED, attempts=1, output_json=str(n),
                    started_at=now, completed_at=now,
                ))  # fmt: skip
            inner._db.execute("COMMIT")
        started = time.perf_counter()
        outcome = await client.execute(run.id)
        assert outcome.status.value == "COMPLETED" and reached, outcome
        to_first = reached[0] - started
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        history = inner.load_history(run.id)
        loaded = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        assert len(history.tasks) == recorded + 2  # the wait, the tasks, the new one
    finally:
        inner.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    print(
        f"\nreplay of {recorded:,} recorded tasks (SQLite): first new task after "
        f"{1000 * to_first:.0f} ms = reading the history {1000 * store.read_seconds:.0f} ms "
        f"+ the rest {1000 * (to_first - store.read_seconds):.0f} ms "
        f"({1e6 * (to_first - store.read_seconds) / recorded:.2f} us per replayed task); "
        f"memory per recorded task {loaded / (recorded + 1):.0f} bytes (tracemalloc)"
    )


if __name__ == "__main__":
    asyncio.run(main())
