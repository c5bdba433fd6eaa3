"""A cold Lambda's first SQS resume, in a fresh interpreter, pays only for what it uses.

docs/performance.md, section 5: the worker makes its AWS clients with botocore alone (no
boto3 import), builds none of triggerfish's pydantic models (no schema, no plugin scan) and
imports the jobs with the garbage collector paused, then frozen out of what it imported;
the run still completes with its `ctx`, and the collector runs again afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from triggerfish.core import Client, DynamoDBStore, RunStatus, invoke_trigger

ENTRY = Path(__file__).resolve().parents[2] / "adapters" / "deploy" / "lambda_entry.py"

JOBS = """
from triggerfish.core import Client, invoke_trigger

client = Client.from_env("cold")


@client.define_job(id="one", trigger=invoke_trigger())
async def one(payload, io, ctx):
    first = await io.run_task("only", lambda: 1)
    return {"first": first, "run": ctx.run.id, "invocation": ctx.run.invocation}
"""

WORKER = """
import gc, json, sys
import lambda_entry

event = {"Records": [{"messageId": "m1", "eventSource": "aws:sqs",
          "body": json.dumps({"type": "resume", "run_id": sys.argv[1], "at": 0})}]}
answer = lambda_entry.handler(event, None)
from triggerfish.core.context import Context
from triggerfish.core.outcome import Outcome
print(json.dumps({
    "answer": answer,
    "boto3": "boto3" in sys.modules,
    "httpx": "httpx" in sys.modules,
    "plugins": "pydantic.plugin._loader" in sys.modules,
    "built": [m.__name__ for m in (Context, Outcome) if m.__pydantic_complete__],
    "collector": [gc.isenabled(), gc.get_freeze_count() > 10_000],
}))
"""


def test_a_cold_sqs_resume_imports_no_boto3_builds_no_model_and_freezes_its_imports(
    moto_url: str, tmp_path: Path
) -> None:
    table = f"cold-{uuid.uuid4().hex[:8]}"
    store = DynamoDBStore(table, endpoint_url=moto_url, region="us-east-1")
    store.create_table()
    client = Client("cold", store=store)

    @client.define_job(id="one", trigger=invoke_trigger())
    async def one(payload: Any, io: Any, ctx: Any) -> None: ...

    run = asyncio.run(client.invoke("one", None))
    shutil.copy(ENTRY, tmp_path / "lambda_entry.py")
    (tmp_path / "cold_jobs.py").write_text(JOBS)
    (tmp_path / "worker.py").write_text(WORKER)
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "TRIGGERFISH_JOBS": "cold_jobs:client",
           "TRIGGERFISH_TABLE": table, "TRIGGERFISH_ENDPOINT_URL": moto_url,
           "TRIGGERFISH_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    done = subprocess.run([sys.executable, "worker.py", run.id], check=False, cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])

    # httpx (the [lambda] extra, for HttpIntegration) is imported by a task that uses it only.
    assert seen == {"answer": {"batchItemFailures": []}, "boto3": False, "httpx": False,
                    "plugins": False,
                    "built": [], "collector": [True, True]}  # fmt: skip
    finished = asyncio.run(client.get_run(run.id))
    assert finished.status is RunStatus.COMPLETED
    assert finished.output == {"first": 1, "run": run.id, "invocation": 1}
