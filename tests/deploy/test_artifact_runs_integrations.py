"""The built zip runs a job that calls an HttpIntegration and imports the app's own
requirement: one SQS resume in a clean CPython 3.12 holding nothing but the unzipped artifact,
against DynamoDB on a moto server and a local HTTP target (issue 21, item 2).

Before, the `lambda` extra lacked httpx and the build took no app requirements: the same
resume failed the run with ModuleNotFoundError.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import subprocess
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
from deploy_tools import built_artifact, python312
from support.http_target import http_target
from triggerfish.core import Client, DynamoDBStore, RunStatus, invoke_trigger

pytestmark = [
    pytest.mark.skipif(platform.machine() != "x86_64", reason="runs the x86_64 artifact here"),
    pytest.mark.timeout(400),  # the first deploy test in a process pays for the build
]

WORKER = """
import json, sys
sys.path[:0] = [sys.argv[1]]
import lambda_entry

event = {"Records": [{"messageId": "m1", "eventSource": "aws:sqs",
          "body": json.dumps({"type": "resume", "run_id": sys.argv[2], "at": 0})}]}
print(json.dumps({"answer": lambda_entry.handler(event, None),
                  "httpx": getattr(sys.modules.get("httpx"), "__file__", "").startswith(sys.argv[1])}))
"""


def test_an_sqs_resume_in_the_artifact_runs_an_http_integration_task(
    moto_url: str, tmp_path: Path
) -> None:
    task_root = tmp_path / "task"
    with zipfile.ZipFile(built_artifact("x86_64")) as archive:
        archive.extractall(task_root)
    table = f"artifact-{uuid.uuid4().hex[:8]}"
    store = DynamoDBStore(table, endpoint_url=moto_url, region="us-east-1")
    store.create_table()
    client = Client("acme", store=store)

    @client.define_job(id="greet", trigger=invoke_trigger())
    async def greet(payload: Any, io: Any, ctx: Any) -> None: ...

    run = asyncio.run(client.invoke("greet", {"bytes": 3_000_000}))
    (tmp_path / "worker.py").write_text(WORKER)
    with http_target() as (target_url, hits):
        env = {"PATH": os.environ["PATH"], "TRIGGERFISH_JOBS": "acme_jobs.jobs:client",
               "TRIGGERFISH_TABLE": table, "TRIGGERFISH_ENDPOINT_URL": moto_url,
               "TRIGGERFISH_REGION": "us-east-1", "ACME_API_URL": target_url,
               "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}  # fmt: skip
        # -S -E: no site-packages and no PYTHON* variables: only the artifact is importable.
        done = subprocess.run(
            [str(python312()), "-S", "-E", "worker.py", str(task_root), run.id], cwd=tmp_path,
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])

    assert seen == {"answer": {"batchItemFailures": []}, "httpx": True}
    assert hits["/echo/hello"] == 1
    finished = asyncio.run(client.get_run(run.id))
    assert finished.status is RunStatus.COMPLETED, finished.error
    assert finished.output == {"echoed": '{"bytes":3000000}', "size": "3.0 MB"}
