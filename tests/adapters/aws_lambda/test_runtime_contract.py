"""The runtime contract: deploy/lambda_entry.py under the real awslambdaric, source tree.

An API Gateway (HTTP API) event starts a run through the JSON API; an SQS resume record
executes it; a second HTTP event reads it back COMPLETED — one runtime process throughout,
as one Lambda container would serve them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lambda_support import load_event
from runtime_api import RuntimeAPI, RuntimeProcess

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
API_KEY = "contract-key"


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[tuple[RuntimeAPI, RuntimeProcess]]:
    env = {
        "TRIGGERFISH_JOBS": "contract_jobs:client",
        "TRIGGERFISH_DB": str(tmp_path / "runs.db"),
        "TRIGGERFISH_API_KEY": API_KEY,
    }
    with RuntimeAPI() as api:
        process = RuntimeProcess(api, "lambda_entry.handler", path=[ROOT / "deploy", HERE], env=env)
        with process:
            yield api, process


def http_event(method: str, path: str, body: Any = None) -> dict[str, Any]:
    event = copy.deepcopy(load_event("http_api_v2.json"))
    event["rawPath"] = path
    event["requestContext"]["http"].update(method=method, path=path)
    event["headers"] = {**event["headers"], "authorization": f"Bearer {API_KEY}",
                        "content-type": "application/json"}
    event["body"] = json.dumps(body) if body is not None else ""
    return event


def invoke(runtime: tuple[RuntimeAPI, RuntimeProcess], event: dict[str, Any]) -> Any:
    api, process = runtime
    ok, body = api.invoke(event, timeout_ms=10_000)
    assert ok, f"{body}\n{process.output()}"
    return body


def test_api_event_then_sqs_record_complete_a_run_in_the_real_runtime(
    runtime: tuple[RuntimeAPI, RuntimeProcess],
) -> None:
    sent = invoke(runtime, http_event("POST", "/api/events", {"name": "shout", "payload": {"text": "hey"}}))
    assert sent["statusCode"] == 202, sent
    (run_id,) = json.loads(sent["body"])["run_ids"]

    record = copy.deepcopy(load_event("sqs_single.json"))
    record["Records"][0]["body"] = json.dumps({"type": "resume", "run_id": run_id, "at": 0})
    assert invoke(runtime, record) == {"batchItemFailures": []}

    read = invoke(runtime, http_event("GET", f"/api/runs/{run_id}"))
    run = json.loads(read["body"])
    assert (run["status"], run["output"]) == ("COMPLETED", "HEY!")
    assert [log["message"] for log in run["logs"]] == ["shouted"]
