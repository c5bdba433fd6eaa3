"""The built zip answers Lambda events under CPython 3.12 and the real runtime client.

This is what Lambda does with the artifact: unzip it as the task root, start
`python3.12 -m awslambdaric lambda_entry.handler`, and hand it events through the Runtime
API (tests/adapters/aws_lambda/runtime_api.py). The jobs module is named only by
TRIGGERFISH_JOBS, and runs go to SQLite, so no AWS service is needed.
"""

from __future__ import annotations

import importlib.util
import json
import platform
import sys
import zipfile
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from deploy_tools import JOBS_PACKAGE, ROOT, built_artifact, lambda_runtime_client, python312

LAMBDA_TESTS = ROOT / "tests" / "adapters" / "aws_lambda"

pytestmark = pytest.mark.skipif(
    platform.machine() != "x86_64", reason="runs the x86_64 artifact on this machine"
)


def _runtime_api() -> ModuleType:
    """tests/adapters/aws_lambda/runtime_api.py, loaded once under its own name."""
    if "runtime_api" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "runtime_api", LAMBDA_TESTS / "runtime_api.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["runtime_api"] = module
        spec.loader.exec_module(module)
    return sys.modules["runtime_api"]


def _event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((LAMBDA_TESTS / "events" / name).read_text())
    return event


@pytest.fixture(scope="module")
def lambda_function(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    """The unzipped artifact running under awslambdaric: (Runtime API, runtime process)."""
    task_root = tmp_path_factory.mktemp("task")
    with zipfile.ZipFile(built_artifact("x86_64")) as archive:
        archive.extractall(task_root)
    runtime_api = _runtime_api()
    env = {
        "TRIGGERFISH_JOBS": f"{JOBS_PACKAGE}.jobs:client",
        "TRIGGERFISH_DB": str(tmp_path_factory.mktemp("db") / "runs.db"),
        "TRIGGERFISH_API_KEY": "artifact-test-key",
        "PYTHONNOUSERSITE": "1",
    }
    with runtime_api.RuntimeAPI() as api:
        process = runtime_api.RuntimeProcess(
            api, "lambda_entry.handler", path=[task_root, lambda_runtime_client()],
            env=env, python=str(python312()),
        )  # fmt: skip
        process.environ["PYTHONPATH"] = f"{task_root}:{lambda_runtime_client()}"
        with process:
            yield api, process


def _invoke(lambda_function: tuple[Any, Any], event: dict[str, Any]) -> Any:
    api, process = lambda_function
    ok, body = api.invoke(event, timeout_ms=10_000)
    assert ok, f"{body}\n{process.output()}"
    return body


@pytest.mark.parametrize(
    "name", ["http_api_v2.json", "api_gateway_v1.json", "function_url.json", "alb.json"]
)
def test_http_events_get_the_health_answer(lambda_function: tuple[Any, Any], name: str) -> None:
    response = _invoke(lambda_function, _event(name))
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"status": "ok"}


def test_api_answers_with_the_key_from_the_environment(lambda_function: tuple[Any, Any]) -> None:
    event = _event("http_api_v2.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/api/jobs"
    event["headers"]["authorization"] = "Bearer artifact-test-key"
    response = _invoke(lambda_function, event)
    assert response["statusCode"] == 200, response


def test_schedule_event_runs_a_tick(lambda_function: tuple[Any, Any]) -> None:
    assert isinstance(_invoke(lambda_function, _event("eventbridge_schedule.json")), dict)


def test_sqs_batch_reports_item_failures_in_lambda_s_shape(
    lambda_function: tuple[Any, Any],
) -> None:
    assert "batchItemFailures" in _invoke(lambda_function, _event("sqs_batch.json"))
