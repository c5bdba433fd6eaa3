"""Import cost of each Lambda path (what a cold start pays before the first event).

    .venv/bin/python bench/coldstart.py [--runs 9]

Each figure is the median wall time of a fresh interpreter doing the imports, minus an
empty interpreter's start. Figures only; docs/performance.md quotes a run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

PATHS = {
    "triggerfish.core": "import triggerfish.core",
    "worker path (core, lambda adapter, DynamoDBStore, SQSDispatcher, boto3)": (
        "import triggerfish.core, triggerfish.adapters.aws_lambda;"
        "from triggerfish.core.store.dynamodb import DynamoDBStore;"
        "from triggerfish.core.dispatch.sqs import SQSDispatcher; import boto3"
    ),
    "HTTP path (worker path + ASGI app, Starlette, Jinja, Mangum)": (
        "import triggerfish.core, triggerfish.adapters.aws_lambda, boto3, mangum;"
        "from triggerfish.adapters.asgi import create_app;"
        "import triggerfish.adapters.asgi.dashboard"
    ),
    "boto3 alone": "import boto3",
    "pydantic alone": "import pydantic",
}


def wall_ms(code: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    base = wall_ms("pass", args.runs)
    print(f"empty interpreter: {base:.0f} ms (subtracted below), median of {args.runs}")
    for label, code in PATHS.items():
        print(f"{label}: {wall_ms(code, args.runs) - base:.0f} ms")


if __name__ == "__main__":
    main()
