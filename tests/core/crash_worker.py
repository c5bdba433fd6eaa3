"""A worker process for the crash test: runs one invocation of a slow job, to be SIGKILLed.

    python crash_worker.py STORE_KIND LOCATION RUN_ID SIDE_EFFECTS_FILE [CLOCK_OFFSET]
    python crash_worker.py STORE_KIND LOCATION serve SIDE_EFFECTS_FILE

`serve` is the local server: a LocalDispatcher (invocations without a deadline) that
recovers unfinished runs and sweeps, printing the status of each run it sees end.

STORE_KIND is sqlite (LOCATION a file) or dynamodb (LOCATION "url|table").
CRASH_WORKER_DEADLINE_SECONDS (default 30) is each invocation's budget; with
CRASH_WORKER_LEASE_SECONDS the lease of an invocation with a deadline is that short (and
renewed twice as often, with a tenth as much grace), so a test sees a Lambda-length
invocation's lease expire after a kill without waiting for it.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from triggerfish.core import IO, Client, Context, SkippingClock, invoke_trigger

TASKS = 12
TASK_SECONDS = 0.15


def open_client(name: str, kind: str, location: str, offset: float) -> Client:
    """A worker's client: SQLite at `location`, or DynamoDB at `url|table`; clock ahead."""
    store: Any
    if kind == "sqlite":
        from triggerfish.core import SQLiteStore

        store = SQLiteStore(location)
    else:
        from triggerfish.core import DynamoDBStore

        url, table = location.split("|")
        store = DynamoDBStore(table, endpoint_url=url, region="us-east-1")
    clock = SkippingClock()
    clock.advance(offset)
    return Client(name, store=store, clock=clock)


def build_client(kind: str, location: str, side_effects: Path, offset: float) -> Client:
    client = open_client("crash", kind, location, offset)

    @client.define_job(id="slow", trigger=invoke_trigger())
    async def slow(payload: Any, io: IO, ctx: Context) -> int:
        for n in range(TASKS):

            async def work(n: int = n) -> int:
                with side_effects.open("a") as out:
                    out.write(f"t{n}\n")
                await asyncio.sleep(TASK_SECONDS)
                return n

            await io.run_task(f"t{n}", work)
        return TASKS

    return client


async def serve(client: Client) -> None:
    """Runs the local dispatcher until every run in the store has ended."""
    from triggerfish.core import LocalDispatcher

    dispatcher = LocalDispatcher(client)
    client.dispatcher = dispatcher
    await dispatcher.start()
    try:
        while True:
            runs = (await client.list_runs()).runs
            if runs and all(run.status.is_final for run in runs):
                for run in runs:
                    print(run.status.value, flush=True)
                return
            await asyncio.sleep(0.1)
    finally:
        await dispatcher.stop()


def shorten_leases(seconds: float) -> None:
    """Leases of `seconds` (with a deadline or without), renewed every `seconds / 2` (with
    one) or past a third of the lease (without), `seconds / 10` of grace."""
    from triggerfish.core import acquire, lease, lease_watch

    lease.DEFAULT_LEASE_SECONDS = seconds

    for module in (lease, lease_watch, acquire):
        module.RENEWABLE_LEASE_SECONDS = seconds  # type: ignore[attr-defined]
    lease_watch.RENEW_EVERY_SECONDS = seconds / 2
    lease.LEASE_GRACE_SECONDS = seconds / 10
    acquire.LEASE_GRACE_SECONDS = seconds / 10  # type: ignore[attr-defined]


async def main() -> None:
    if os.environ.get("CRASH_WORKER_LEASE_SECONDS"):
        shorten_leases(float(os.environ["CRASH_WORKER_LEASE_SECONDS"]))
    budget = float(os.environ.get("CRASH_WORKER_DEADLINE_SECONDS", "30"))
    kind, location, run_id, side_effects = sys.argv[1:5]
    if run_id == "serve":
        await serve(build_client(kind, location, Path(side_effects), 0.0))
        return
    offset = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    client = build_client(kind, location, Path(side_effects), offset)
    if run_id == "new":
        run = await client.invoke("slow", None)
        print(run.id, flush=True)
        return
    while True:
        outcome = await client.execute(run_id, deadline=client.clock.time() + budget)
        print(outcome.status.value, flush=True)
        if outcome.status.is_final:
            return
        if outcome.resume_at is None:
            await asyncio.sleep(0.2)


if __name__ == "__main__":
    asyncio.run(main())
