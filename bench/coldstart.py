"""Cold start: a fresh interpreter handling one SQS resume event, against a plain boto3 one.

    .venv/bin/python bench/coldstart.py [--runs 9]

"ours": a fresh interpreter imports deploy/lambda_entry.py (the Lambda handler module, as
the artifact's root holds it) and handles one SQS resume event of a one-task job, on
DynamoDB, with the queue and bucket set as serverless.yml sets them (moto's server on
loopback). "baseline": a fresh interpreter imports boto3 and
pydantic, defines one model and makes one DynamoDB GetItem and one PutItem against the
same server: what any user's function pays anyway. Each figure is the median wall and CPU
time of --runs interpreters, the whole process and until the answer (Lambda freezes the
interpreter after it, never tears it down); the ratio is ours / baseline. Then the import
cost of each Lambda path (minus an empty interpreter's start). Figures only;
docs/performance.md quotes a run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

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

JOBS = '''
from triggerfish.core import Client, invoke_trigger

client = Client.from_env("coldstart")


@client.define_job(id="one", trigger=invoke_trigger())
async def one(payload, io, ctx):
    return await io.run_task("only", lambda: 1)
'''

USER_JOBS = JOBS + '''

import boto3
from pydantic import BaseModel


class Item(BaseModel):
    pk: str
    count: int


Item(pk="x", count=1)
'''
"""The same jobs module, also paying what the baseline pays for the user's own code (boto3,
pydantic, one model built): ours on top of it is what triggerfish adds to such a function."""

OURS = '''
import json, sys
import lambda_entry
event = {{"Records": [{{"messageId": "m1", "eventSource": "aws:sqs",
           "body": json.dumps({{"type": "resume", "run_id": sys.argv[1], "at": 0}})}}]}}
answer = lambda_entry.handler(event, None)
assert answer == {{"batchItemFailures": []}}, answer
{answered}
'''

BASELINE = '''
import sys
import boto3
from pydantic import BaseModel


class Item(BaseModel):
    pk: str
    count: int


item = Item(pk=sys.argv[1], count=1)
db = boto3.client("dynamodb", endpoint_url="{url}", region_name="us-east-1")
db.get_item(TableName="{table}", Key={{"PK": {{"S": item.pk}}, "SK": {{"S": "x"}}}})
db.put_item(TableName="{table}", Item={{"PK": {{"S": item.pk}}, "SK": {{"S": "x"}},
                                         "n": {{"N": str(item.count)}}}})
{answered}
'''


ANSWERED = """
import resource as _resource, time as _time
_used = _resource.getrusage(_resource.RUSAGE_SELF)
print(_time.time(), (_used.ru_utime + _used.ru_stime) * 1000)
"""
"""The last lines of both scripts: when the answer was ready, and the CPU used until then
(a Lambda's interpreter is frozen after its answer, never torn down: teardown is not part
of a cold start, though the whole-process figures include it, on both sides alike)."""


def wall_ms(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def timed(args: list[str], env: dict[str, str], cwd: str) -> tuple[float, float, float, float]:
    """Wall and CPU (user + system) milliseconds of one fresh interpreter running `args`:
    the whole process, then until its answer (the script's last lines, `ANSWERED`)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started_at = time.time()
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *args], check=True, env=env, cwd=cwd,
                          capture_output=True, text=True)  # fmt: skip
    wall = (time.perf_counter() - started) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    answered_at, answered_cpu = (float(x) for x in done.stdout.split()[-2:])
    return wall, cpu, (answered_at - started_at) * 1000, answered_cpu


def first_event(runs: int, *, bytecode: bool) -> None:
    """Ours (import the Lambda entry, handle one SQS resume) against the boto3 baseline."""
    from support.servers import moto_server
    from triggerfish.core import Client, DynamoDBStore, invoke_trigger

    folder = Path(tempfile.mkdtemp(prefix=".coldstart-", dir=ROOT / "bench"))
    try:
        shutil.copy(ROOT / "deploy" / "lambda_entry.py", folder / "lambda_entry.py")
        (folder / "coldstart_jobs.py").write_text(JOBS)
        (folder / "coldstart_user_jobs.py").write_text(USER_JOBS)
        (folder / "ours.py").write_text(OURS.format(answered=ANSWERED))
        with moto_server() as url:
            table = f"coldstart-{uuid.uuid4().hex[:6]}"
            import boto3

            aws = {"endpoint_url": url, "region_name": "us-east-1",
                   "aws_access_key_id": "bench", "aws_secret_access_key": "bench"}  # fmt: skip
            queue_url = boto3.client("sqs", **aws).create_queue(QueueName=table)["QueueUrl"]
            boto3.client("s3", **aws).create_bucket(Bucket=table)
            env = {
                **os.environ, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                "AWS_DEFAULT_REGION": "us-east-1", "TRIGGERFISH_TABLE": table,
                "TRIGGERFISH_ENDPOINT_URL": url, "TRIGGERFISH_REGION": "us-east-1",
                "TRIGGERFISH_JOBS": "coldstart_jobs:client", "PYTHONPATH": str(folder),
                "TRIGGERFISH_QUEUE_URL": queue_url, "TRIGGERFISH_BUCKET": table,
            }  # fmt: skip
            # Both sides load cached bytecode (the warm-up writes it), as a deploy package
            # with .pyc files would; --no-bytecode compiles every module on every start.
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            if not bytecode:
                env["PYTHONDONTWRITEBYTECODE"] = "1"
                env["PYTHONPYCACHEPREFIX"] = str(folder / "no-pycache")
            os.environ.update({k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")})
            store = DynamoDBStore(table, endpoint_url=url, region="us-east-1")
            store.create_table()
            client = Client("coldstart", store=store)

            @client.define_job(id="one", trigger=invoke_trigger())
            async def one(payload: object, io: object, ctx: object) -> None: ...

            run_ids = [[asyncio.run(client.invoke("one", None)).id for _ in range(2)]
                       for _ in range(runs + 1)]  # fmt: skip
            user_env = {**env, "TRIGGERFISH_JOBS": "coldstart_user_jobs:client"}
            (folder / "baseline.py").write_text(BASELINE.format(url=url, table=table, answered=ANSWERED))
            # One warm-up each (page cache, moto's first request), then the timed runs,
            # interleaved so that a busy machine's drift falls on both alike.
            cwd = str(folder)
            timed(["ours.py", run_ids[-1][0]], env, cwd)
            timed(["ours.py", run_ids[-1][1]], user_env, cwd)
            timed(["baseline.py", "warm"], env, cwd)
            ours_runs, base_runs, user_runs = [], [], []
            for n in range(runs):
                ours_runs.append(timed(["ours.py", run_ids[n][0]], env, cwd))
                base_runs.append(timed(["baseline.py", f"b{n}"], env, cwd))
                user_runs.append(timed(["ours.py", run_ids[n][1]], user_env, cwd))
            done = [asyncio.run(client.get_run(i)).status.value for r in run_ids for i in r]
            assert set(done) == {"COMPLETED"}, done
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    ours_wall, ours_cpu, ours_answer_wall, ours_answer_cpu = (
        statistics.median(x) for x in zip(*ours_runs, strict=True)
    )
    base_wall, base_cpu, base_answer_wall, base_answer_cpu = (
        statistics.median(x) for x in zip(*base_runs, strict=True)
    )
    user_wall, user_cpu, user_answer_wall, user_answer_cpu = (
        statistics.median(x) for x in zip(*user_runs, strict=True)
    )
    cache = "cached bytecode" if bytecode else "no bytecode: every module compiled"
    print(f"first event, fresh interpreter ({cache}), median of {runs}, moto on loopback, "
          "wall / CPU ms:")
    print(f"  ours: import lambda_entry + one SQS resume (lease, 1 task, end): "
          f"{ours_wall:.0f} / {ours_cpu:.0f}")
    print(f"  baseline: import boto3 + pydantic, one model, one GetItem + one PutItem: "
          f"{base_wall:.0f} / {base_cpu:.0f}")
    print(f"  ratio ours / baseline: wall {ours_wall / base_wall:.3f}x, CPU {ours_cpu / base_cpu:.3f}x")
    print(f"  until the answer (no interpreter teardown, which Lambda never does): ours "
          f"{ours_answer_wall:.0f} / {ours_answer_cpu:.0f}, baseline {base_answer_wall:.0f} / "
          f"{base_answer_cpu:.0f}; ratio wall {ours_answer_wall / base_answer_wall:.3f}x, "
          f"CPU {ours_answer_cpu / base_answer_cpu:.3f}x")
    print(f"  ours, the jobs module also importing boto3 and building one model (the user's "
          f"own cost, as in the baseline): {user_wall:.0f} / {user_cpu:.0f}, until the answer "
          f"{user_answer_wall:.0f} / {user_answer_cpu:.0f}; ratio to the baseline: CPU "
          f"{user_cpu / base_cpu:.3f}x whole, {user_answer_cpu / base_answer_cpu:.3f}x until "
          f"the answer")


def imports(runs: int) -> None:
    base = wall_ms([sys.executable, "-c", "pass"], runs)
    print(f"\nimports alone: empty interpreter {base:.0f} ms (subtracted below), median of {runs}")
    for label, code in PATHS.items():
        print(f"  {label}: {wall_ms([sys.executable, '-c', code], runs) - base:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--no-bytecode", action="store_true",
                        help="compile every module at every start (no .pyc), both sides")  # fmt: skip
    args = parser.parse_args()
    first_event(args.runs, bytecode=not args.no_bytecode)
    imports(args.runs)


if __name__ == "__main__":
    main()
