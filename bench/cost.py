"""Cost per million durable steps on AWS prices, beside published list prices (issue 17).

    .venv/bin/python bench/cost.py [--steps 1000] [--step-seconds 0.5] [--memory-mb 1024]

A run of N sync-lambda steps (`lambda i=i: i`, the README's form) on DynamoDB and SQS
(moto's HTTP server), resumed through 60 s invocations as Lambda would run it:
`triggerfish.core.testing.drive(..., budget_seconds=60)` with a SkippingClock, each step
standing for `--step-seconds` of the invocation's clock (so a run spans several
invocations, each ended by a yield and resumed through an SQS message). Costs are
`Run.usage` priced by the project's own price table (core/usage.py `Prices`; the total is
`Run.cost_usd`), counted from the requests actually sent. Printed apart: the requests
(what durability costs: the target is within 1.2x of one DynamoDB write per step) and the
compute, whose billed seconds are real time on moto (slower per request than DynamoDB, so
an upper bound for trivial steps; a step's own work adds its own). Three variants: plain, a
wait every 100 steps, a retried failure every 100 steps. Figures only, no asserts;
docs/performance.md ("Cost per million steps") quotes a run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

INVOCATION_SECONDS = 60.0
FLOOR_PER_MILLION = 0.625
"""One DynamoDB on-demand write request unit per step (us-east-1): what durability costs at least."""
LIST_PRICES = [
    ("AWS Step Functions Standard", "$25 per million state transitions (one per step, at least)",
     25.0, 25.0),
    ("AWS Lambda durable functions", "$8 per million operations (one per step) plus Lambda compute",
     8.0, 8.0),
    ("Temporal Cloud", "$25-50 per million actions (one or more per activity)", 25.0, 50.0),
]  # fmt: skip
EVERY = 100
"""A variant adds one wait, or one retried failure, per this many steps."""


def define(client: Any, steps: int, step_seconds: float, variant: str) -> None:
    """The job: `steps` sync lambdas; `variant` adds a wait or a failing attempt per EVERY."""
    from triggerfish.core import IO, Context, RetryPolicy, invoke_trigger

    clock = client.clock
    failed: set[int] = set()

    def step(i: int) -> int:
        clock.advance(step_seconds)  # this step's share of the invocation's time
        if variant == "retry" and i % EVERY == EVERY - 1 and i not in failed:
            failed.add(i)
            raise ConnectionError(f"step {i}: a transient failure, retried once")
        return i

    retry = RetryPolicy(limit=2, min_timeout=1.0, randomize=False)

    @client.define_job(id="cost", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> int:
        for i in range(steps):
            await io.run_task(f"s{i}", lambda i=i: step(i), retry=retry)
            if variant == "wait" and i % EVERY == EVERY - 1:
                await io.wait(f"w{i}", seconds=30)
        return steps


async def measure(url: str, steps: int, step_seconds: float, memory_mb: int,
                  variant: str) -> dict[str, Any]:  # fmt: skip
    """One run of the variant on a fresh table and queue; its usage and cost."""
    import boto3
    from triggerfish.core import Client, DynamoDBStore, RunStatus, SkippingClock, SQSDispatcher
    from triggerfish.core.testing import drive
    from triggerfish.core.usage import Prices

    name = f"cost-{uuid.uuid4().hex[:8]}"
    store = DynamoDBStore(name, endpoint_url=url, region="us-east-1")
    store.create_table()
    sqs = boto3.client("sqs", endpoint_url=url, region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    clock = SkippingClock()
    client = Client("cost", store=store, clock=clock, prices=Prices(lambda_memory_mb=memory_mb),
                    dispatcher=SQSDispatcher(queue_url, client=sqs, clock=clock))  # fmt: skip
    define(client, steps, step_seconds, variant)
    run = await client.invoke("cost", None)
    report = await drive(client, run.id, budget_seconds=INVOCATION_SECONDS, max_invocations=10_000)
    done = await client.get_run(run.id, tasks=False)
    if done.status is not RunStatus.COMPLETED:
        raise SystemExit(f"{variant}: the run ended {done.status.value}: {done.error}")
    usage = done.usage
    return {
        "variant": variant, "steps": steps, "usage": usage.model_dump(),
        "cost_usd": done.cost_usd, "per_million": done.cost_usd / steps * 1e6,
        "yields": report.yields, "gb_seconds": usage.billed_seconds * memory_mb / 1024,
    }  # fmt: skip


def print_tables(rows: list[dict[str, Any]], memory_mb: int, step_seconds: float) -> None:
    steps = rows[0]["steps"]
    prices = _prices(memory_mb)
    for row in rows:
        compute = row["gb_seconds"] * prices.lambda_gb_second
        row["compute_per_million"] = compute / steps * 1e6
        row["requests_per_million"] = row["per_million"] - row["compute_per_million"]
    print(f"{steps:,} sync-lambda steps per run on DynamoDB + SQS (moto), {INVOCATION_SECONDS:.0f} s "
          f"invocations, each step {step_seconds} s of clock, Lambda {memory_mb} MB; "
          "Run.usage priced by core/usage.py Prices (us-east-1 on-demand list prices)")
    print("| variant | invocations | writes/step | reads/step | queue msgs | $/M steps, requests | "
          "x floor ($0.625) | GB-s (moto) | $/M steps, with compute on moto |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        usage = row["usage"]
        print(f"| {row['variant']} | {usage['invocations']} | {usage['store_writes'] / steps:.3f} | "
              f"{usage['store_reads'] / steps:.3f} | {usage['queue_messages']} | "
              f"{row['requests_per_million']:.3f} | "
              f"{row['requests_per_million'] / FLOOR_PER_MILLION:.2f}x | {row['gb_seconds']:.2f} | "
              f"{row['per_million']:.3f} |")
    print("(requests: DynamoDB writes and reads, Lambda requests, SQS messages, S3 requests; "
          "compute is billed wall time on moto, whose requests are slower than DynamoDB's)")
    print("Where the plain run's cost goes, $ per million steps:")
    plain = rows[0]
    usage = plain["usage"]
    parts = {
        "DynamoDB writes": usage["store_writes"] * prices.dynamodb_write_unit,
        "DynamoDB reads": usage["store_reads"] * prices.dynamodb_read_unit,
        "Lambda requests": usage["invocations"] * prices.lambda_request,
        "SQS messages": usage["queue_messages"] * prices.sqs_request,
        "S3 requests": usage["blob_requests"] * prices.s3_request,
        "Lambda compute (GB-s, moto)": plain["gb_seconds"] * prices.lambda_gb_second,
    }
    print("| unit | $ per million steps |")
    print("|---|---|")
    for unit, cost in parts.items():
        print(f"| {unit} | {cost / steps * 1e6:.4f} |")
    ours, total = plain["requests_per_million"], plain["per_million"]
    print("Beside published list prices (per million steps, at the fewest billed units per step; "
          "theirs exclude the compute of the steps themselves, as our requests figure does):")
    print("| service | list price | $ per million steps | x ours (requests) | x ours (with compute) |")
    print("|---|---|---|---|---|")
    print(f"| triggerfish on Lambda + DynamoDB + SQS | this bench | {ours:.3f} ({total:.3f} with "
          "compute) | 1.0x | 1.0x |")
    for service, price, low, high in LIST_PRICES:
        span = f"{low:.0f}" if low == high else f"{low:.0f}-{high:.0f}"
        extra = " + compute" if "compute" in price else ""

        def ratio(base: float, low: float = low, high: float = high) -> str:
            return f"{low / base:.0f}x" if low == high else f"{low / base:.0f}-{high / base:.0f}x"

        print(f"| {service} | {price} | {span}{extra} | {ratio(ours)} | {ratio(total)} |")


def _prices(memory_mb: int) -> Any:
    from triggerfish.core.usage import Prices

    return Prices(lambda_memory_mb=memory_mb)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--step-seconds", type=float, default=0.5,
                        help="clock time each step stands for (sets how many fit an invocation)")  # fmt: skip
    parser.add_argument("--memory-mb", type=int, default=1024)
    parser.add_argument("--variants", default="plain,wait,retry")
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    from support.servers import moto_server

    with moto_server() as url:
        rows = [
            await measure(url, args.steps, args.step_seconds, args.memory_mb, variant)
            for variant in args.variants.split(",")
        ]
    print_tables(rows, args.memory_mb, args.step_seconds)


if __name__ == "__main__":
    asyncio.run(main())
