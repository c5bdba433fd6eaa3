"""Crash anywhere: a worker process SIGKILLed at random moments, over and over, then checked.

    .venv/bin/python reliability/crash.py --store sqlite --mode local --kills 300
    .venv/bin/python reliability/crash.py --store dynamodb --kills 300     # moto server

Each generation: a few new runs of the job mix are invoked, a worker starts (in loop mode its
clock set ahead of the previous one's by more than a lease, standing in for the wait until
the killed leases expire; in local mode real time, the local server's 35 s leases just
expire), and after a random 0.05-1.2 s (2.5 s on DynamoDB) it is SIGKILLed. After the last kill a worker
runs to the end, one more run of the concurrency-limited job must finish (no slot leaked),
and `reliability.mix.verify` checks every run, every side effect and every sampled output.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reliability.mix import JOBS, EffectLog, OutputWatch, Verdict, all_final, verify
from reliability.stores import ROOT, moto, new_dynamodb_spec, open_store, python_env
from reliability.worker import build_client

WORKER = ROOT / "reliability" / "worker.py"
LOOP_DEADLINE_SECONDS = 2.0
LEASE_STEP = {"loop": 10.0, "local": 0.0}
"""Clock offset between generations: more than one lease (deadline + 5 s) in loop mode. The
local server's leases are short (30 + 5 s, core/lease.py), so local mode needs no jump: a
later generation (and the last worker) takes the killed runs over once their leases expire."""


@contextmanager
def spawn(
    spec: str, effects: Path, target: str, mode: str, offset: float, trace: str | None = None
) -> Iterator[Any]:
    """A worker process, ready to work (it printed "ready"); killed on exit if still alive.
    With `trace`, it writes what it polls and executes there (reliability/worker.py)."""
    env = python_env() if trace is None else {**python_env(), "CAMPAIGN_WORKER_TRACE": trace}
    process = subprocess.Popen(
        [sys.executable, str(WORKER), "--store", spec, "--effects", str(effects),
         "--target", target, "--mode", mode, "--offset", str(offset),
         "--deadline", str(LOOP_DEADLINE_SECONDS)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"worker did not start: {line!r}")
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        if process.stdout:
            process.stdout.close()


MAX_SETTLE_SECONDS = 1800.0
"""However long the runs keep finishing, the settle phase gives up after this."""


def settle(store: Any, runs: dict[str, tuple[str, int]], idle_seconds: float) -> None:
    """Waits until every run has ended, or none has for `idle_seconds`: on moto a long form's
    last queue (the `limited` job, one run at a time) drains a run every few seconds, since
    each query scans the grown table, and a fixed budget cut it off while it still moved."""
    began = time.monotonic()
    give_up, finished, counted_at = began + idle_seconds, -1, 0.0
    while time.monotonic() < min(give_up, began + MAX_SETTLE_SECONDS):
        if all_final(store, runs):
            return
        if time.monotonic() - counted_at >= 10:
            counted_at = time.monotonic()
            now_finished = sum(
                1 for run_id in runs
                if (run := store.get_run(run_id)) is not None and run.status.is_final
            )  # fmt: skip
            if now_finished > finished:
                finished, give_up = now_finished, time.monotonic() + idle_seconds
        time.sleep(0.5)


def campaign(
    store_kind: str,
    *,
    mode: str = "loop",
    kills: int = 20,
    runs_per_kill: int = 2,
    initial_runs: int = 8,
    seed: int = 0,
    moto_url: str | None = None,
    settle_seconds: float = 180.0,
    workdir: Path | None = None,
) -> Verdict:
    """Runs the crash campaign and returns its verdict (figures and faults)."""
    rng = random.Random(seed)
    sys.path.insert(0, str(ROOT / "tests"))
    from support.http_target import http_target

    with ExitStack() as stack:
        work = workdir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        if store_kind == "sqlite":
            spec = f"sqlite:{work / 'crash.db'}"
        else:
            spec = new_dynamodb_spec(moto_url or stack.enter_context(moto()))
        target, hits = stack.enter_context(http_target())
        effects_path = work / "effects.jsonl"
        effects = EffectLog(effects_path)
        store = open_store(spec)
        client = build_client(store, effects, target)
        runs: dict[str, tuple[str, int]] = {}
        watch = OutputWatch()
        killed: set[int] = set()
        step = LEASE_STEP[mode]

        def invoke(job_id: str) -> None:
            n = len(runs) + 1
            run = asyncio.run(client.invoke(job_id, {"n": n}))
            runs[run.id] = (job_id, n)

        for _ in range(initial_runs):
            invoke(JOBS[len(runs) % len(JOBS)])
        started = time.monotonic()
        for generation in range(kills):
            for _ in range(runs_per_kill):
                invoke(JOBS[len(runs) % len(JOBS)])
            with spawn(spec, effects_path, target, mode, generation * step) as worker:
                time.sleep(rng.uniform(0.05, 1.2 if store_kind == "sqlite" else 2.5))
                worker.send_signal(signal.SIGKILL)
                killed.add(worker.pid)
            watch.sample(store, rng.sample(sorted(runs), min(10, len(runs))))
        invoke("limited")  # must find its slot free after every kill
        final_id = next(reversed(runs))
        trace = os.environ.get("CAMPAIGN_LAST_WORKER_TRACE")  # a file: see worker.py
        with spawn(spec, effects_path, target, mode, kills * step, trace):
            settle(store, runs, settle_seconds)
        watch.sample(store, runs)
        verdict = verify(store, runs, effects, killed_pids=killed, watch=watch, fetch_hits=hits)
        verdict.figures["kills"] = kills
        verdict.figures["kill phase seconds"] = round(time.monotonic() - started)
        verdict.figures["last worker's clock at the end"] = round(time.time() + kills * step)
        final = store.get_run(final_id)
        if final is None or final.status.value != "COMPLETED":
            holder = store.get_concurrency_holder("limited", 0)
            held = holder and store.get_run(holder)
            verdict.fault(f"the last limited run {final_id} did not complete: a slot leaked? "
                          f"slot 0 of 'limited' held by {holder} "
                          f"({held and held.status.value}, its slot {held and held.slot})")
        return verdict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", choices=("sqlite", "dynamodb"), default="sqlite")
    parser.add_argument("--mode", choices=("loop", "local"), default="loop")
    parser.add_argument("--kills", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    verdict = campaign(args.store, mode=args.mode, kills=args.kills, seed=args.seed)
    print(f"crash campaign: store={args.store} mode={args.mode} seed={args.seed}")
    print(verdict.summary())
    sys.exit(1 if verdict.faults else 0)


if __name__ == "__main__":
    main()
