"""Kill to resume with Lambda-length deadlines: SIGKILLed workers, dead-man's checks (issue 17).

    .venv/bin/python bench/crashes.py [--stores moto,dynalite] [--kills 12] [--runs-per-kill 2]
        [--lease-scale 10]

The crash campaign (reliability/crash.py: the job mix of reliability/mix.py, checked by
`reliability.mix.verify`) plus "long" runs of 30 tasks of 0.3 s, run the way Lambda runs
them: every resume and every dead-man's check is an SQS message (moto's SQS, real
DelaySeconds) taken by a worker process (bench/crashes_worker.py) that runs it through the
SQS record handler as one invocation with a **900 s deadline**. One worker at a time; each
generation invokes new runs, starts a worker and SIGKILLs it at a random moment 1-8 s after
it is ready; the next worker starts at once. No ticker runs during the kills, so a killed
run comes back only through its dead-man's check; after the last kill a worker runs with a
ticker until every run has ended. The store is DynamoDB on moto or on dynalite.

Shortened, and how the figures scale: `--lease-scale S` (default 10) divides the lease
constants in the workers (40 s lease -> 4 s, renewed every 20 s -> 2 s, 5 s grace -> 0.5 s,
crash backoff 5 s -> 0.5 s), as tests/core/crash_worker.py does, so an hour of kills takes
minutes. Kill to resume is printed in two parts: kill -> lease expiry (lease-bound: it
scales by S exactly) and lease expiry -> resume (SQS's whole-second delay, the receive
poll, the takeover: these do not scale); "at the real constants" is part1 x S + part2 per
kill. Renewal writes are counted per renewal interval of invocation time (20/S s here,
20 s at the real constants). The queue's visibility timeout is 900/S s, standing in for
Lambda's (at least the function's timeout).

The overrun variant: one run whose task never finishes, in workers with an 8 s budget that
SIGKILL themselves at the deadline (the platform's timeout); it must end TIMED_OUT naming
the task after `MAX_TIMEOUTS` (3) timeouts. Figures only, no asserts; docs/reliability.md
quotes a run. The machine's load moves every figure: it is printed beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

WORKER = ROOT / "bench" / "crashes_worker.py"
KILL_AFTER = (1.0, 8.0)
"""A worker is SIGKILLed this many seconds (uniform) after it is ready."""
OVERRUN_BUDGET_SECONDS = 8.0
"""The overrun variant's invocation budget: longer than a (shortened) lease, so renewed."""
SETTLE_SECONDS = 300.0


def start_worker(args: list[str]) -> subprocess.Popen[str]:
    """A worker process, once it printed "ready"."""
    from reliability.stores import python_env

    process = subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=python_env(),
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    if line.strip() != "ready":
        process.kill()
        raise RuntimeError(f"worker did not start: {line!r}")
    return process


def kill_worker(process: subprocess.Popen[str]) -> float:
    """SIGKILLs `process` (if still alive); returns when (epoch seconds)."""
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    at = time.time()
    process.wait()
    if process.stdout:
        process.stdout.close()
    return at


@contextmanager
def spawn(args: list[str]) -> Iterator[subprocess.Popen[str]]:
    """A worker process for a `with` block, killed on exit if still alive."""
    process = start_worker(args)
    try:
        yield process
    finally:
        kill_worker(process)


def quantiles(values: list[float]) -> str:
    """median / p99 / max of `values`, in seconds."""
    if not values:
        return "n/a"
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):.1f} / {p99:.1f} / {ordered[-1]:.1f}"


class Setup:
    """A fresh table (on `store_url`) and queue (on moto), a supervisor client, the logs."""

    def __init__(self, store_url: str, sqs_url: str, work: Path, scale: float, target: str) -> None:
        import boto3
        from triggerfish.core import Client, SQSDispatcher

        from bench.crashes_worker import define_jobs
        from reliability.mix import EffectLog, define_mix
        from reliability.stores import new_dynamodb_spec, open_store

        self.spec = new_dynamodb_spec(store_url)
        self.store = open_store(self.spec)
        self.sqs = boto3.client("sqs", endpoint_url=sqs_url, region_name="us-east-1")
        visibility = str(round(900 / scale))
        self.queue = self.sqs.create_queue(
            QueueName=f"crashbench-{uuid.uuid4().hex[:8]}",
            Attributes={"VisibilityTimeout": visibility},
        )["QueueUrl"]
        self.effects_path = work / f"effects-{uuid.uuid4().hex[:6]}.jsonl"
        self.log_path = work / f"log-{uuid.uuid4().hex[:6]}.jsonl"
        self.effects = EffectLog(self.effects_path)
        dispatcher = SQSDispatcher(self.queue, client=self.sqs)
        self.client = Client("crashbench", store=self.store, dispatcher=dispatcher)
        define_mix(self.client, self.effects, target)
        define_jobs(self.client, self.effects)
        self.worker_args = [
            "--store", self.spec, "--sqs-url", sqs_url, "--queue", self.queue,
            "--effects", str(self.effects_path), "--log", str(self.log_path),
            "--target", target, "--lease-scale", str(scale),
        ]  # fmt: skip

    def invoke(self, job_id: str, n: int) -> str:
        run = asyncio.run(self.client.invoke(job_id, {"n": n}))
        return run.id

    def log(self) -> list[dict[str, Any]]:
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line]


def crash_variant(
    setup: Setup, *, kills: int, seed: int, scale: float, per_kill: int
) -> dict[str, Any]:
    """The kills; returns the figures (see `report`)."""
    from reliability.mix import JOBS, OutputWatch, all_final, with_started_runs

    rng = random.Random(seed)
    mix: dict[str, tuple[str, int]] = {}
    long_runs: dict[str, tuple[str, int]] = {}

    def invoke_some(count: int) -> None:
        for _ in range(count):
            job = JOBS[len(mix) % len(JOBS)]
            mix[setup.invoke(job, len(mix) + 1)] = (job, len(mix) + 1)
            long_runs[setup.invoke("long", len(long_runs) + 1)] = ("long", len(long_runs) + 1)

    invoke_some(3)
    watch = OutputWatch()
    killed: dict[int, float] = {}
    pending: list[dict[str, Any]] = []
    started = time.monotonic()
    current = start_worker(setup.worker_args)
    try:
        for _ in range(kills):
            invoke_some(per_kill)
            # The next container is up before this one dies, as Lambda keeps others warm:
            # kill -> resume then measures the lease and the check, not a process start.
            standby = start_worker(setup.worker_args)
            time.sleep(rng.uniform(*KILL_AFTER))
            kill_at = kill_worker(current)
            killed[current.pid] = kill_at
            owners = {line["owner"] for line in setup.log()
                      if line["ev"] == "leased" and line["pid"] == current.pid}  # fmt: skip
            for run_id in [*with_started_runs(setup.store, mix), *long_runs]:
                run = setup.store.get_run(run_id)
                if run and not run.status.is_final and run.lease_owner in owners:
                    pending.append({"run": run_id, "pid": current.pid, "kill": kill_at,
                                    "expiry": run.lease_expires_at})  # fmt: skip
            current = standby
            watch.sample(setup.store, rng.sample(sorted(mix), min(10, len(mix))))
    finally:
        killed[current.pid] = kill_worker(current)
    kill_phase = time.monotonic() - started
    everything = {**mix, **long_runs}
    with spawn(setup.worker_args) as last:
        give_up = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < give_up and not all_final(setup.store, everything):
            asyncio.run(setup.client.tick())  # the minute ticker, scaled
            time.sleep(60 / scale)
        killed[last.pid] = kill_worker(last)
    watch.sample(setup.store, mix)
    print(json.dumps(pending), file=(setup.log_path.with_suffix(".pending")).open("w"))
    return {"mix": mix, "long": long_runs, "killed": killed, "pending": pending,
            "watch": watch, "kill_phase": kill_phase}  # fmt: skip


def report(setup: Setup, figures: dict[str, Any], scale: float, fetch_hits: Any) -> list[str]:
    """Verifies every run and prints kill -> resume, final states and writes."""
    from triggerfish.core import RunStatus

    import reliability.mix as mix_module

    expected = mix_module.expected

    def with_long(job_id: str, n: int) -> tuple[RunStatus, Any]:
        from bench.crashes_worker import LONG_TASKS

        return (RunStatus.COMPLETED, LONG_TASKS) if job_id == "long" else expected(job_id, n)

    mix_module.expected = with_long  # type: ignore[assignment]
    verdict = mix_module.verify(
        setup.store, {**figures["mix"], **figures["long"]}, setup.effects,
        killed_pids=set(figures["killed"]), watch=figures["watch"], fetch_hits=fetch_hits,
    )  # fmt: skip
    mix_module.expected = expected  # type: ignore[assignment]
    log = setup.log()
    leased: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for line in log:
        if line["ev"] == "leased":
            leased[line["run"]].append((line["t"], line["pid"]))
    part1, part2, total, real = [], [], [], []
    unresumed = 0
    for kill in figures["pending"]:
        after = [t for t, pid in leased[kill["run"]] if t > kill["kill"] and pid != kill["pid"]]
        run = setup.store.get_run(kill["run"])
        if not after:
            unresumed += 1  # ended by another way (e.g. canceled), or never taken over
            continue
        resumed = min(after)
        to_expiry = max(0.0, kill["expiry"] - kill["kill"])
        part1.append(to_expiry)
        part2.append(resumed - kill["kill"] - to_expiry)
        total.append(resumed - kill["kill"])
        real.append(to_expiry * scale + part2[-1])
        del run
    # Invocation time and the lease watch's writes.
    open_starts: dict[tuple[int, str], list[float]] = defaultdict(list)
    seconds = 0.0
    for line in log:
        key = (line["pid"], str(line.get("run")))
        if line["ev"] == "start":
            open_starts[key].append(line["t"])
        elif line["ev"] == "end" and open_starts[key]:
            seconds += line["t"] - open_starts[key].pop(0)
    for (pid, _), starts in open_starts.items():
        end = figures["killed"].get(pid)
        seconds += sum(max(0.0, end - t) for t in starts) if end else 0.0
    events = Counter(line["ev"] for line in log)
    renewals = sum(1 for line in log if line["ev"] == "renew" and line["ok"])
    interval = 20.0 / scale
    statuses = Counter()
    loops = 0
    long_writes = []
    for run_id in with_started(setup, figures):
        run = setup.store.get_run(run_id)
        statuses[run.status.value] += 1
        if run.status is RunStatus.FAILED and (run.error or {}).get("type") == "CrashLoop":
            loops += 1
        if run_id in figures["long"] and run.usage:
            long_writes.append(run.usage.get("store_writes", 0))
    checks = sum(1 for line in log if line["ev"] == "start" and line.get("check"))
    lines = [
        (
            f"  kills {len(figures['killed']) - 2} in {figures['kill_phase']:.0f} s; runs "
            f"{sum(statuses.values())} ({', '.join(f'{k} {v}' for k, v in sorted(statuses.items()))}); "
            f"TIMED_OUT {statuses.get('TIMED_OUT', 0)}; FAILED crash loop {loops} (FAILED by design: "
            f"the mix's doomed runs); invocations past their deadline {events['deadline-kill']}"
        ),
        f"  verify: {len(verdict.faults)} faults; "
        + ", ".join(
            f"{k} {v}"
            for k, v in sorted(verdict.figures.items())
            if "repeat" in k or k in ("task executions", "tasks recorded", "output samples")
        )
        + "".join(f"\n    FAULT {fault}" for fault in verdict.faults[:10]),
        (
            f"  runs leased by a killed worker: {len(figures['pending'])} ({unresumed} not taken "
            "over by a later invocation: ended otherwise)"
        ),
        f"  kill -> resume, measured (median / p99 / max s): {quantiles(total)}",
        (
            f"    kill -> lease expiry (scales by {scale:g}): {quantiles(part1)}; "
            f"lease expiry -> resume (does not scale): {quantiles(part2)}"
        ),
        f"    at the real constants (part1 x {scale:g} + part2): {quantiles(real)}",
        (
            f"  invocation time {seconds:.0f} s; renewal writes {renewals} = "
            f"{renewals / (seconds / interval) if seconds else 0:.2f} per {interval:g} s of "
            f"invocation (= per 20 s at the real constants); overrun marks {events['mark']}; "
            f"check messages taken {checks} = "
            f"{checks / (seconds / interval) if seconds else 0:.2f} per {interval:g} s"
        ),
        (
            f"  long runs (30 tasks): Run.usage writes per run median "
            f"{statistics.median(long_writes) if long_writes else 0:.0f} (killed invocations' "
            "counts are lost with them)"
        ),
    ]
    return lines


def with_started(setup: Setup, figures: dict[str, Any]) -> list[str]:
    from reliability.mix import with_started_runs

    return [*with_started_runs(setup.store, figures["mix"]), *figures["long"]]


def overrun_variant(setup: Setup) -> list[str]:
    """One run whose task never finishes, in workers killed at their deadline."""
    run_id = setup.invoke("overrun", 1)
    args = [*setup.worker_args, "--budget", str(OVERRUN_BUDGET_SECONDS), "--slots", "1"]
    started = time.monotonic()
    workers = 0
    while time.monotonic() - started < 180:
        run = setup.store.get_run(run_id)
        if run.status.is_final:
            break
        with spawn(args) as worker:
            workers += 1
            while worker.poll() is None and not setup.store.get_run(run_id).status.is_final:
                time.sleep(0.2)
    run = setup.store.get_run(run_id)
    log = setup.log()
    kills = sum(1 for line in log if line["ev"] == "deadline-kill")
    marks = sum(1 for line in log if line["ev"] == "mark" and line["ok"])
    error = run.error or {}
    return [
        (
            f"  overrun: {run.status.value} after {time.monotonic() - started:.0f} s; "
            f"invocations killed at their {OVERRUN_BUDGET_SECONDS:g} s deadline {kills}, overruns "
            f"marked {marks}, workers {workers}; timeouts {run.timeouts}, crashes {run.crashes}"
        ),
        f"    error key {error.get('key')!r}: {error.get('message')}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", default="moto,dynalite")
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--lease-scale", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs-per-kill", type=int, default=2, help="mix runs and long runs each")
    parser.add_argument("--no-overrun", action="store_true")
    parser.add_argument("--workdir", help="keep the logs here (default: a temporary directory)")
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    from support.http_target import http_target
    from support.servers import dynalite_server, moto_server

    scale = args.lease_scale
    print(f"crash bench: 900 s deadlines, leases shortened {scale:g}x "
          f"({40 / scale:g} s + {5 / scale:g} s grace, renewed every {20 / scale:g} s), "
          f"kills {KILL_AFTER[0]:g}-{KILL_AFTER[1]:g} s after a worker is ready; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)  # fmt: skip
    with ExitStack() as stack:
        work = Path(args.workdir or stack.enter_context(tempfile.TemporaryDirectory()))
        sqs_url = stack.enter_context(moto_server())
        target, hits = stack.enter_context(http_target())
        for kind in args.stores.split(","):
            store_url = sqs_url if kind == "moto" else stack.enter_context(dynalite_server())
            setup = Setup(store_url, sqs_url, work, scale, target)
            figures = crash_variant(
                setup, kills=args.kills, seed=args.seed, scale=scale, per_kill=args.runs_per_kill
            )
            print(f"DynamoDB on {kind} (load average {os.getloadavg()[0]:.1f}):", flush=True)
            print("\n".join(report(setup, figures, scale, hits)), flush=True)
            if not args.no_overrun:
                overrun = Setup(store_url, sqs_url, work, scale, target)
                print("\n".join(overrun_variant(overrun)), flush=True)


if __name__ == "__main__":
    main()
