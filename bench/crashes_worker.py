"""A bench worker for bench/crashes.py: a Lambda-like SQS consumer, to be SIGKILLed.

    python bench/crashes_worker.py --store SPEC --sqs-url URL --queue URL --effects FILE --log FILE
        [--target URL] [--budget 900] [--lease-scale 10] [--slots 6]

Each SQS message is one invocation, as Lambda's event source mapping runs it: the real
record handler (adapters/aws_lambda/sqs.py `handle_records`, dead-man's checks included)
with a deadline `--budget` seconds ahead; the message is deleted when it succeeds. Up to
`--slots` invocations run at once (containers of one host: a SIGKILL ends all of them).
At an invocation's deadline the process SIGKILLs itself, as the platform ends a timed-out
invocation.

`--lease-scale S` divides the lease constants by S (core/lease_watch.py, core/lease.py,
core/acquire.py; like tests/core/crash_worker.py): leases of 40/S s, renewed every 20/S s,
5/S s of grace, crash backoff 5/S s. Every lease-bound wait shrinks by S; SQS's whole-second
delays, process starts and store latency do not.

The log (JSON lines, appended, so they survive the kill): "ready", each invocation's start
and end, each lease taken (`leased`, with the lost leases it found), and each write of the
lease watch thread (`renew`, `mark`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from triggerfish.core import IO, Client, Context, SQSDispatcher, invoke_trigger

from reliability.mix import EffectLog, define_mix
from reliability.stores import open_store

LONG_TASKS = 30
"""Tasks of a "long" run: each takes LONG_TASK_SECONDS, so it outlives several leases."""
LONG_TASK_SECONDS = 0.3
STUCK_SECONDS = 3600.0
"""The "overrun" job's task: it never finishes within an invocation."""


class Log:
    """Appends one JSON line per event, one write each (atomic for short lines)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __call__(self, event: str, **fields: Any) -> None:
        line = json.dumps({"ev": event, "pid": os.getpid(), "t": time.time(), **fields})
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)


def shorten_leases(scale: float) -> None:
    """Every lease constant divided by `scale` (see the module docstring)."""
    from triggerfish.core import acquire, crashes, engine, lease, lease_watch

    for module in (lease, lease_watch, acquire):
        module.RENEWABLE_LEASE_SECONDS = 40.0 / scale  # type: ignore[attr-defined]
    for module in (lease, acquire, engine):
        module.LEASE_GRACE_SECONDS = 5.0 / scale  # type: ignore[attr-defined]
    lease_watch.RENEW_EVERY_SECONDS = 20.0 / scale
    lease_watch.RENEW_RETRY_SECONDS = 2.0 / scale
    crashes.CRASH_BACKOFF_SECONDS = 5.0 / scale


def instrument(log: Log) -> None:
    """Logs each lease taken and each write of the lease watch thread."""
    from triggerfish.core import engine, lease_watch

    take_lease = engine.take_lease

    async def logged_take_lease(runtime: Any, run_id: str, *args: Any) -> Any:
        leased = await take_lease(runtime, run_id, *args)
        if hasattr(leased, "lease_owner"):  # a RunRecord, not an Outcome
            log("leased", run=run_id, owner=leased.lease_owner, lost=leased.lost_leases)
        return leased

    engine.take_lease = logged_take_lease  # type: ignore[assignment]
    write = lease_watch.LeaseWatch._write

    def logged_write(watch: Any, changes: dict[str, Any]) -> bool:
        done = write(watch, changes)
        log("mark" if "overrun" in changes else "renew", run=watch.lease.run_id, ok=done)
        return done

    lease_watch.LeaseWatch._write = logged_write  # type: ignore[method-assign]


def define_jobs(client: Client, effects: EffectLog) -> None:
    """The bench's own jobs beside the campaign's mix: "long" and "overrun"."""

    @client.define_job(id="long", trigger=invoke_trigger())
    async def long(payload: Any, io: IO, ctx: Context) -> int:
        for n in range(LONG_TASKS):

            async def work(n: int = n) -> int:
                effects.append(ctx.run.id, f"t{n}")
                await asyncio.sleep(LONG_TASK_SECONDS)
                return n

            await io.run_task(f"t{n}", work)
        return LONG_TASKS

    @client.define_job(id="overrun", trigger=invoke_trigger())
    async def overrun(payload: Any, io: IO, ctx: Context) -> None:
        async def stuck() -> None:
            effects.append(ctx.run.id, "stuck")
            await asyncio.sleep(STUCK_SECONDS)

        await io.run_task("stuck", stuck)


EMPTY_POLL_PAUSE_SECONDS = 0.1


def platform_timeout(log: Log, seconds: float) -> threading.Timer:
    """SIGKILLs this process at an invocation's deadline, as Lambda ends a timed-out one."""

    def kill() -> None:
        log("deadline-kill")
        os.kill(os.getpid(), signal.SIGKILL)

    timer = threading.Timer(seconds, kill)
    timer.daemon = True
    timer.start()
    return timer


async def consume(client: Client, sqs: Any, queue_url: str, log: Log, budget: float) -> None:
    """One container: receive a message, run it as one invocation, delete it; forever.

    Short polls (WaitTimeSeconds=0, then a 0.1 s pause when the queue is empty): on Lambda
    the pollers are the service's, and a killed container takes no poll with it. A long
    poll pending in a process killed here would stay open on the server, which hands the
    next message to come due (often a dead-man's check) to the dead connection, leaving it
    invisible for the queue's visibility timeout: 3 such resumes of 60-70 s were this
    bench's, not the product's (traced 2026-12-07, docs/reliability.md).
    """
    from triggerfish.adapters.aws_lambda.sqs import handle_records

    while True:
        received = await asyncio.to_thread(
            sqs.receive_message, QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=0
        )
        if not received.get("Messages"):
            await asyncio.sleep(EMPTY_POLL_PAUSE_SECONDS)
        for message in received.get("Messages", []):
            body = json.loads(message["Body"])
            record = {"messageId": message["MessageId"], "body": message["Body"]}
            deadline = client.clock.time() + budget
            log("start", run=body.get("run_id"), check=body.get("check", False), deadline=deadline)
            timer = platform_timeout(log, budget)
            result = await handle_records(client, [record], deadline)
            timer.cancel()
            log("end", run=body.get("run_id"))
            if not result["batchItemFailures"]:
                await asyncio.to_thread(
                    sqs.delete_message, QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"]
                )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--queue", required=True)
    parser.add_argument("--sqs-url", required=True)
    parser.add_argument("--effects", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--target")
    parser.add_argument("--budget", type=float, default=900.0)
    parser.add_argument("--lease-scale", type=float, default=1.0)
    parser.add_argument("--slots", type=int, default=6)
    args = parser.parse_args()
    log = Log(args.log)
    shorten_leases(args.lease_scale)
    instrument(log)
    store = open_store(args.store)  # sets the AWS_* defaults for the local servers too
    import boto3

    sqs = boto3.client("sqs", endpoint_url=args.sqs_url, region_name="us-east-1")
    client = Client("crashbench", store=store, dispatcher=SQSDispatcher(args.queue, client=sqs))
    effects = EffectLog(args.effects)
    define_mix(client, effects, args.target)
    define_jobs(client, effects)
    log("ready")
    print("ready", flush=True)
    await asyncio.gather(
        *(consume(client, sqs, args.queue, log, args.budget) for _ in range(args.slots))
    )


if __name__ == "__main__":
    asyncio.run(main())
