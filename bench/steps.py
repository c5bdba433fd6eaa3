"""Cost of one durable step on SQLite, beside the physical floor measured in the same run.

    .venv/bin/python bench/steps.py [--steps 1000,8000,32000] [--repeat 3] [--json] [--profile N]

"Ours": one run of a job doing N trivial steps, `await io.run_task(f"s{i}", step)` with an
async `step` (and as the README writes them, `lambda i=i: i`: its own table), through the
public API (Client.invoke + Client.execute) on a SQLiteStore file; ms/step is
the whole invocation (lease, history, N steps, end write) divided by N.
"Floor": the same number of bare `INSERT` + `COMMIT`s (WAL, synchronous=NORMAL) of a row
as large as our task row, keyed by a hash as task ids are (sequential keys append to the
B-tree and cost ~15% less), on the same disk: what one durable write costs at all, with
SQLite's own checkpoints (a commit past 1,000 log pages copies them into the file).
"Floor, no checkpoint": the same loop with `wal_autocheckpoint=0`, as our store runs its
connection (its checkpoints run in a thread of their own, core/store/sqlite_checkpoints.py):
the strictest floor, printed beside the first so neither ratio hides the other.
Figures only; docs/performance.md quotes a run.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hashlib
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent


def _cleanup(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _temp_db(tag: str) -> Path:
    handle, name = tempfile.mkstemp(prefix=f".steps-{tag}-", suffix=".db", dir=ROOT)
    Path(name).unlink()
    import os

    os.close(handle)
    return Path(name)


async def _step(i: int) -> int:
    return i


def row_bytes(path: Path) -> int:
    """The mean size of our task rows (data column), so the floor writes the same size."""
    db = sqlite3.connect(path)
    (size,) = db.execute("SELECT AVG(LENGTH(run_id) + LENGTH(id) + LENGTH(data)) FROM tasks").fetchone()
    db.close()
    return int(size or 0)


async def ours(steps: int, *, profile: bool = False, sync: bool = False) -> dict[str, Any]:
    """ms/step of one invocation running `steps` trivial tasks: async fns, or with `sync`
    plain lambdas (probed in a worker thread, then run on the loop: core/io/sync_tasks.py)."""
    from triggerfish.core import IO, Client, Context, SQLiteStore, invoke_trigger

    path = _temp_db("ours")
    store = SQLiteStore(path)
    client = Client("bench", store=store)

    @client.define_job(id="steps", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> int:
        for i in range(steps):
            if sync:
                await io.run_task(f"s{i}", lambda i=i: i)
            else:
                await io.run_task(f"s{i}", functools.partial(_step, i))
        return steps

    try:
        run = await client.invoke("steps", None)
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        started, cpu_started = time.perf_counter(), time.process_time()
        outcome = await client.execute(run.id)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        if profiler is not None:
            profiler.disable()
            import pstats

            pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
        assert outcome.status.value == "COMPLETED", outcome
        size = row_bytes(path)
    finally:
        store.close()
        _cleanup(path)
    return {"steps": steps, "ms_per_step": 1000 * elapsed / steps, "row_bytes": size,
            "cpu_ms_per_step": 1000 * cpu / steps}  # fmt: skip


def floor(steps: int, size: int, *, checkpoints: bool = True) -> tuple[float, float]:
    """ms (wall, CPU) per bare INSERT + COMMIT of a `size`-byte row, WAL, synchronous=NORMAL;
    without `checkpoints`, no commit copies the log into the file (the log just grows)."""
    path = _temp_db("floor")
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        if not checkpoints:
            db.execute("PRAGMA wal_autocheckpoint=0")
        db.execute("CREATE TABLE t (run_id TEXT, id TEXT, data TEXT, PRIMARY KEY (run_id, id))")
        data = "x" * max(1, size - 64)
        started, cpu_started = time.perf_counter(), time.process_time()
        for i in range(steps):
            db.execute("BEGIN IMMEDIATE")
            key = hashlib.sha256(str(i).encode()).hexdigest()[:32]  # hashed, as task ids are
            db.execute("INSERT INTO t VALUES (?, ?, ?)", ("r" * 32, key, data))
            db.execute("COMMIT")
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
    finally:
        db.close()
        _cleanup(path)
    return 1000 * elapsed / steps, 1000 * cpu / steps


def measure(counts: list[int], repeat: int = 1) -> list[dict[str, Any]]:
    """One row per step count: the median of `repeat` runs of ours, the floor and the sync
    variant, interleaved (a busy moment on a shared machine moves one run, not the median)."""
    rows = []
    for steps in counts:
        runs = []
        for _ in range(repeat):
            row = asyncio.run(ours(steps))
            row["floor_ms"], row["floor_cpu_ms"] = floor(steps, row["row_bytes"])
            row["bare_floor_ms"], _ = floor(steps, row["row_bytes"], checkpoints=False)
            sync = asyncio.run(ours(steps, sync=True))
            row["sync_ms_per_step"] = sync["ms_per_step"]
            row["sync_cpu_ms_per_step"] = sync["cpu_ms_per_step"]
            runs.append(row)
        median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        rows.append({**median, "steps": steps, "row_bytes": runs[0]["row_bytes"], "repeat": repeat})
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    print("Per durable step on SQLite (file, WAL, synchronous=NORMAL), one invocation "
          f"(medians of {rows[0].get('repeat', 'the')} runs per size, interleaved with the floor)")
    print("| steps | ours ms/step | floor ms/step (INSERT+COMMIT) | ours / floor | vs the first row "
          "| floor, no checkpoint | ours / that |")
    print("|---|---|---|---|---|---|---|")
    first = rows[0]["ms_per_step"]
    for row in rows:
        print(
            f"| {row['steps']:,} | {row['ms_per_step']:.4f} | {row['floor_ms']:.4f} | "
            f"{row['ms_per_step'] / row['floor_ms']:.2f}x | {row['ms_per_step'] / first:.2f}x | "
            f"{row['bare_floor_ms']:.4f} | {row['ms_per_step'] / row['bare_floor_ms']:.2f}x |"
        )
    print(f"(task row ~{rows[0]['row_bytes']} bytes; floor rows the same size, hashed keys)")
    print("The same steps as plain sync lambdas, the README's form (issue 17: on the loop once "
          "quick, core/io/sync_tasks.py):")
    print("| steps | sync-lambda ms/step | floor ms/step | sync / floor | sync - async ms | "
          "sync CPU ms/step | sync / floor, no checkpoint |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        extra = row["sync_ms_per_step"] - row["ms_per_step"]
        print(f"| {row['steps']:,} | {row['sync_ms_per_step']:.4f} | {row['floor_ms']:.4f} | "
              f"{row['sync_ms_per_step'] / row['floor_ms']:.2f}x | {extra:+.4f} | "
              f"{row['sync_cpu_ms_per_step']:.4f} | "
              f"{row['sync_ms_per_step'] / row['bare_floor_ms']:.2f}x |")
    print("CPU time per step (this process; steadier than wall time on a shared machine)")
    print("| steps | ours CPU ms/step | floor CPU ms/step | ours / floor |")
    print("|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['steps']:,} | {row['cpu_ms_per_step']:.4f} | {row['floor_cpu_ms']:.4f} | "
            f"{row['cpu_ms_per_step'] / row['floor_cpu_ms']:.2f}x |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="1000,8000,32000")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--profile", type=int, default=0, help="cProfile one run of N steps")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; medians printed")
    args = parser.parse_args()
    if args.profile:
        print(asyncio.run(ours(args.profile, profile=True)))
        return
    rows = measure([int(n) for n in args.steps.split(",")], args.repeat)
    if args.json:
        print(json.dumps(rows))
    else:
        print_table(rows)


if __name__ == "__main__":
    main()
