"""A campaign worker process: executes the job mix's due runs until killed.

    python reliability/worker.py --store SPEC --effects FILE [--target URL]
        [--mode loop|local] [--offset SECONDS] [--deadline SECONDS]

loop   polls the store for due runs and executes each with a short deadline
       (`client.execute(run_id, deadline=now + D)`), so its leases last D + 5 s
local  what the local server (`triggerfish dev`, the ASGI app) runs: a LocalDispatcher
       that recovers unfinished runs at start and executes without a deadline
--offset sets this process's clock ahead (a SkippingClock), standing in for the wait
until the leases of a killed predecessor have expired.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from triggerfish.core import Client, LocalDispatcher, SkippingClock, StoreError
from triggerfish.core.slots import sweep_queues_if_due

from reliability.mix import EffectLog, define_mix
from reliability.stores import open_store

logger = logging.getLogger("reliability.worker")
POLL_SECONDS = 0.2
"""How often loop mode reads the due index (one query per shard) and sweeps the queues. On
moto, which answers one request at a time and scans the table for each query, every 20 ms
saturated the server once the long form's table had grown (100 kills): the last worker
crawled and the campaign could not settle. Deployed, the ticker reads it once a minute."""
LEASE_GRACE_SECONDS = 5.0
"""A lease outlives its deadline by this much (core/lease.py); past it, others may take over."""


def build_client(
    store: Any,
    effects: EffectLog,
    target: str | None,
    *,
    offset: float = 0.0,
    dispatcher: Any = None,
    name: str = "campaign",
) -> Client:
    """A client with the job mix on `store`, its clock `offset` seconds ahead."""
    clock = SkippingClock()
    clock.advance(offset)
    client = Client(name, store=store, clock=clock, dispatcher=dispatcher)
    define_mix(client, effects, target)
    return client


async def work(
    clients: list[Client],
    *,
    deadline_seconds: float,
    parallel: int = 8,
    stop: Callable[[], bool] = lambda: False,
    deliveries: Callable[[], int] = lambda: 1,
) -> Counter[str]:
    """Executes due runs until `stop()`.

    Each resume is delivered `deliveries()` times at once: with one client, as concurrent
    calls on this loop; with several, each delivery in its own thread with its own client
    (like separate Lambda containers) on the same store.
    """
    figures: Counter[str] = Counter()
    running: dict[str, asyncio.Task[None]] = {}
    first = clients[0]
    trace = _tracer()

    async def one(index: int, run_id: str) -> None:
        client = clients[index % len(clients)]
        deadline = client.clock.time() + deadline_seconds
        began = time.monotonic()
        try:
            if len(clients) == 1:
                outcome = await client.execute(run_id, deadline=deadline)
                trace(run=run_id, status=outcome.status.value, took=time.monotonic() - began)
            else:
                await asyncio.to_thread(asyncio.run, client.execute(run_id, deadline=deadline))
        except StoreError as exc:
            figures["store errors"] += 1
            logger.info("run %s: %s", run_id, exc)
        except Exception as exc:  # noqa: BLE001 - e.g. botocore errors (issue 8 item 12)
            figures[f"invocations raising {type(exc).__name__}"] += 1
            logger.info("run %s: %r", run_id, exc)
        finally:
            figures["deliveries"] += 1
            if time.monotonic() - began > deadline_seconds + LEASE_GRACE_SECONDS:
                figures["invocations overran their lease"] += 1

    async def resume(run_id: str) -> None:
        count = max(1, deliveries())
        figures["resumes"] += 1
        figures[f"resumes delivered {count}x"] += 1
        await asyncio.gather(*(one(i, run_id) for i in range(count)))
        running.pop(run_id, None)

    while not stop():
        now = first.clock.time()
        try:
            due = await asyncio.to_thread(first.store.list_due_runs, now=now, limit=50)
        except Exception as exc:  # noqa: BLE001 - counted, the poll goes on
            figures[f"due-run polls raising {type(exc).__name__}"] += 1
            due = []
        try:  # the ticker's safety sweep of concurrency queues (a lost wake-up)
            await sweep_queues_if_due(first.runtime, now)
        except Exception as exc:  # noqa: BLE001 - counted, the poll goes on
            figures[f"queue sweeps raising {type(exc).__name__}"] += 1
        trace(clock=now, due=due, running=sorted(running))
        for run_id in due:
            if run_id not in running and len(running) < parallel:
                running[run_id] = asyncio.get_running_loop().create_task(resume(run_id))
        await asyncio.sleep(POLL_SECONDS)
    await asyncio.gather(*running.values(), return_exceptions=True)
    return figures


def _tracer() -> Callable[..., None]:
    """With CAMPAIGN_WORKER_TRACE=FILE, a JSON line per poll and per execution (reliability/
    crash.py sets it for the last worker, to see what it does while the campaign settles)."""
    path = os.environ.get("CAMPAIGN_WORKER_TRACE")
    if not path:
        return lambda **fields: None

    def trace(**fields: Any) -> None:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"t": time.time(), **fields}) + "\n")

    return trace


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", required=True)
    parser.add_argument("--effects", required=True)
    parser.add_argument("--target")
    parser.add_argument("--mode", choices=("loop", "local"), default="loop")
    parser.add_argument("--offset", type=float, default=0.0)
    parser.add_argument("--deadline", type=float, default=2.0)
    parser.add_argument(
        "--max-deliveries", type=int, default=1,
        help="deliver each resume 1..N times at once, from N threads with their own clients",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    store = open_store(args.store)
    effects = EffectLog(args.effects)
    if args.mode == "local":
        dispatcher = LocalDispatcher()
        build_client(store, effects, args.target, offset=args.offset, dispatcher=dispatcher)
        await dispatcher.start()
        print("ready", flush=True)
        await asyncio.Event().wait()
    clients = [build_client(store, effects, args.target, offset=args.offset)]
    for _ in range(1, args.max_deliveries):
        other = open_store(args.store)
        clients.append(build_client(other, effects, args.target, offset=args.offset))
    rng = random.Random()
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    print("ready", flush=True)
    figures = await work(
        clients,
        deadline_seconds=args.deadline,
        stop=stopping.is_set,
        deliveries=lambda: rng.randint(1, args.max_deliveries),
    )
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
