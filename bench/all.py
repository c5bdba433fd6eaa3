"""Every benchmark, one after another, each in a fresh interpreter (`make bench` runs this).

    .venv/bin/python bench/all.py [--quick]

1. ms per durable step on SQLite at 1,000, 8,000 and 32,000 steps, beside the floor
2. ours against the AWS durable execution local runner and DBOS (peers in their own venv)
3. replay (new, replayed, at 10,000 and 100,000 recorded tasks) and store calls
4. cold start: the first SQS event in a fresh interpreter against a boto3 baseline
5. throughput of the local server under HTTP load
6. cost per million steps on AWS prices (moto), beside published list prices
Figures only, never asserts; docs/performance.md quotes a run. --quick runs small sizes.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    quick = args.quick
    steps = [
        ["steps.py", *(["--steps", "500,2000"] if quick else [])],
        ["peers.py", "--steps", "200" if quick else "1000"],
        ["replay.py", *(["--tasks", "200", "--scale", "2000"] if quick else [])],
        ["coldstart.py", "--runs", "3" if quick else "9"],
        ["throughput.py", *(["--events", "300", "--seconds", "10"] if quick else [])],
        ["cost.py", *(["--steps", "200"] if quick else [])],
    ]
    failed = []
    for script, *options in steps:
        print(f"\n=== bench/{script} {' '.join(options)}", flush=True)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, str(HERE / script), *options], check=False)
        print(f"=== {script}: {time.perf_counter() - started:.0f} s", flush=True)
        if done.returncode:
            failed.append(script)
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
