"""Duplicate and concurrent delivery: every resume delivered 1-4 times at once, from threads
(each with its own client) in two processes sharing the store; zero duplicate side effects.

    .venv/bin/python reliability/duplicates.py --store sqlite --runs 200
    .venv/bin/python reliability/duplicates.py --store dynamodb --runs 200   # moto server

Invocations have a short deadline (2 s, so leases of 7 s) which they honour: no lease
expires, so the at-least-once rule allows no repeat at all.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reliability.mix import JOBS, EffectLog, OutputWatch, Verdict, all_final, verify
from reliability.stores import ROOT, moto, new_dynamodb_spec, open_store, python_env
from reliability.worker import build_client

WORKER = ROOT / "reliability" / "worker.py"


def campaign(
    store_kind: str,
    *,
    runs: int = 40,
    processes: int = 2,
    max_deliveries: int = 4,
    moto_url: str | None = None,
    settle_seconds: float = 180.0,
) -> Verdict:
    """Runs the duplicate-delivery campaign and returns its verdict."""
    sys.path.insert(0, str(ROOT / "tests"))
    from support.http_target import http_target

    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        if store_kind == "sqlite":
            spec = f"sqlite:{work / 'dup.db'}"
        else:
            spec = new_dynamodb_spec(moto_url or stack.enter_context(moto()))
        target, hits = stack.enter_context(http_target())
        effects = EffectLog(work / "effects.jsonl")
        store = open_store(spec)
        client = build_client(store, effects, target)
        made: dict[str, tuple[str, int]] = {}
        for n in range(1, runs + 1):
            job_id = JOBS[n % len(JOBS)]
            made[asyncio.run(client.invoke(job_id, {"n": n})).id] = (job_id, n)
        workers = [
            subprocess.Popen(
                [sys.executable, str(WORKER), "--store", spec, "--effects", str(effects.path),
                 "--target", target, "--max-deliveries", str(max_deliveries)],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=python_env(),
            )
            for _ in range(processes)
        ]
        watch = OutputWatch()
        started = time.monotonic()
        try:
            while time.monotonic() - started < settle_seconds:
                watch.sample(store, list(made)[:: max(1, runs // 10)])
                if all_final(store, made):
                    break
                time.sleep(0.5)
        finally:
            totals: Counter[str] = Counter()
            for process in workers:
                process.send_signal(signal.SIGTERM)
                out, _ = process.communicate(timeout=60)
                for line in out.splitlines():
                    if line.startswith("{"):
                        totals.update(json.loads(line))
        watch.sample(store, made)
        overran = totals["invocations overran their lease"]
        verdict = verify(store, made, effects, watch=watch, fetch_hits=hits,
                         failed_invocations=overran)  # fmt: skip
        verdict.figures.update({f"worker {k}": v for k, v in totals.items()})
        verdict.figures["seconds"] = round(time.monotonic() - started)
        if verdict.figures["fetch requests repeated"] > overran:
            verdict.fault(f"{verdict.figures['fetch requests repeated']} fetches sent twice")
        return verdict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", choices=("sqlite", "dynamodb"), default="sqlite")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--max-deliveries", type=int, default=4)
    args = parser.parse_args()
    verdict = campaign(
        args.store, runs=args.runs, processes=args.processes, max_deliveries=args.max_deliveries
    )
    print(f"duplicate delivery campaign: store={args.store} runs={args.runs}")
    print(verdict.summary())
    sys.exit(1 if verdict.faults else 0)


if __name__ == "__main__":
    main()
