"""Store faults: errors injected into a share of DynamoDB calls (or SQLite write locks) while
the job mix runs; runs finish, nothing half-written, no repeat beyond a failed write.

    .venv/bin/python reliability/store_faults.py --store dynamodb --rate 0.1 --runs 200
    .venv/bin/python reliability/store_faults.py --store sqlite --runs 200   # "database is locked"

DynamoDB faults, chosen at random for `rate` of all HTTP attempts (botocore's own retries,
standard mode with 5 attempts as the store configures, see each attempt):

    throttle   400 ProvisionedThroughputExceededException      (botocore retries it)
    throttling 400 ThrottlingException                          (botocore retries it)
    5xx        500 InternalServerError                          (botocore retries it)
    timeout    ReadTimeoutError before sending                  (botocore retries it)
    reset      ConnectionClosedError before sending             (botocore retries it)
    lost       the request IS applied, then ReadTimeoutError   (a lost answer)

SQLite: a second connection takes the write lock (BEGIN IMMEDIATE) for 20-300 ms at random;
the store under test waits at most `--sqlite-timeout` seconds, so some writes fail with
"database is locked".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from triggerfish.core import SQLiteStore

from reliability.mix import JOBS, EffectLog, OutputWatch, Verdict, all_final, verify
from reliability.stores import ROOT, moto, new_dynamodb_spec, open_store
from reliability.worker import build_client, work

KINDS = ("throttle", "throttling", "5xx", "timeout", "reset", "lost")
ERROR_BODIES = {
    "throttle": (400, "ProvisionedThroughputExceededException"),
    "throttling": (400, "ThrottlingException"),
    "5xx": (500, "InternalServerError"),
}


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


class FaultInjector:
    """A botocore `before-send` hook failing `rate` of the calls with one of `kinds`."""

    def __init__(self, rate: float, kinds: tuple[str, ...], seed: int) -> None:
        self.rate = rate
        self.kinds = kinds
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.injected: Counter[str] = Counter()
        self.calls = 0
        self.enabled = True

    def install(self, client: Any) -> None:
        client.meta.events.register("before-send.dynamodb.*", self.before_send)

    def before_send(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse
        from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

        with self.lock:
            self.calls += 1
            if not self.enabled or self.rng.random() >= self.rate:
                return None
            kind = self.rng.choice(self.kinds)
            operation = request.headers.get("X-Amz-Target", b"")
            operation = operation.decode() if isinstance(operation, bytes) else operation
            self.injected[f"{kind} {operation.rpartition('.')[2]}"] += 1
            self.injected[kind] += 1
        if kind in ERROR_BODIES:
            status, code = ERROR_BODIES[kind]
            body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}",
                               "message": f"injected {code}"}).encode()  # fmt: skip
            headers = {"x-amzn-RequestId": "injected", "Content-Type": "application/x-amz-json-1.0"}
            return AWSResponse(request.url, status, headers, _Raw(body))
        if kind == "timeout":
            raise ReadTimeoutError(endpoint_url=request.url)
        if kind == "reset":
            raise ConnectionClosedError(endpoint_url=request.url)
        from botocore.httpsession import URLLib3Session

        URLLib3Session().send(request)  # "lost": applied on the server, the answer lost
        raise ReadTimeoutError(endpoint_url=request.url)


def _dynamodb_client(url: str) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 5})
    return boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1", config=config)


class SQLiteLocker:
    """A second connection that holds the write lock for random short periods."""

    def __init__(self, path: str, seed: int) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.holds = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            time.sleep(self.rng.uniform(0.05, 0.4))
            try:
                self.db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                continue
            self.holds += 1
            time.sleep(self.rng.uniform(0.02, 0.3))
            self.db.execute("COMMIT")


def campaign(
    store_kind: str,
    *,
    runs: int = 40,
    rate: float = 0.1,
    kinds: tuple[str, ...] = KINDS,
    seed: int = 1,
    sqlite_timeout: float = 0.1,
    moto_url: str | None = None,
    settle_seconds: float = 240.0,
) -> Verdict:
    """Runs the store-fault campaign and returns its verdict."""
    sys.path.insert(0, str(ROOT / "tests"))
    from support.http_target import http_target

    with ExitStack() as stack:
        work_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        target, hits = stack.enter_context(http_target())
        effects = EffectLog(work_dir / "effects.jsonl")
        injector: FaultInjector | None = None
        locker: SQLiteLocker | None = None
        if store_kind == "sqlite":
            path = str(work_dir / "faults.db")
            reader = SQLiteStore(path)
            store: Any = SQLiteStore(path, timeout_seconds=sqlite_timeout)
            locker = SQLiteLocker(path, seed)
        else:
            spec = new_dynamodb_spec(moto_url or stack.enter_context(moto()))
            reader = open_store(spec)
            url = spec.partition(":")[2].split("|")[0]
            boto = _dynamodb_client(url)
            injector = FaultInjector(rate, kinds, seed)
            injector.install(boto)
            store = open_store(spec, client=boto)
        client = build_client(store, effects, target)
        setup = build_client(reader, effects, target, name="setup")
        made: dict[str, tuple[str, int]] = {}
        for n in range(1, runs + 1):
            job_id = JOBS[n % len(JOBS)]
            made[asyncio.run(setup.invoke(job_id, {"n": n})).id] = (job_id, n)
        if locker is not None:
            locker.thread.start()
        watch = OutputWatch()
        started = time.monotonic()
        give_up = started + settle_seconds
        last_sample = [0.0]

        def stop() -> bool:
            if time.monotonic() - last_sample[0] > 1.0:
                last_sample[0] = time.monotonic()
                watch.sample(reader, list(made)[:: max(1, runs // 10)])
                return time.monotonic() > give_up or all_final(reader, made)
            return False

        figures = asyncio.run(work([client], deadline_seconds=2.0, stop=stop))
        if locker is not None:
            locker.stop.set()
            locker.thread.join()
        if injector is not None:
            injector.enabled = False
        watch.sample(reader, made)
        verdict = verify(reader, made, effects, watch=watch, fetch_hits=hits,
                         failed_invocations=figures.get("store errors", 0))  # fmt: skip
        verdict.figures.update({f"worker {k}": v for k, v in figures.items()})
        verdict.figures["seconds"] = round(time.monotonic() - started)
        if injector is not None:
            verdict.figures["dynamodb HTTP attempts"] = injector.calls
            verdict.figures.update({f"injected {k}": v for k, v in injector.injected.items()})
        if locker is not None:
            verdict.figures["sqlite write locks held"] = locker.holds
        return verdict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", choices=("sqlite", "dynamodb"), default="dynamodb")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--rate", type=float, default=0.1)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sqlite-timeout", type=float, default=0.1)
    args = parser.parse_args()
    verdict = campaign(
        args.store, runs=args.runs, rate=args.rate, kinds=tuple(args.kinds.split(",")),
        seed=args.seed, sqlite_timeout=args.sqlite_timeout,
    )  # fmt: skip
    print(f"store fault campaign: store={args.store} rate={args.rate} kinds={args.kinds}")
    print(verdict.summary())
    sys.exit(1 if verdict.faults else 0)


if __name__ == "__main__":
    main()
