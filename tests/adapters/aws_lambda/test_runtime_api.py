"""The local Runtime API drives the real awslambdaric the way Lambda does.

Each test starts `python -m awslambdaric` against `runtime_api.RuntimeAPI` with a handler
from echo_handler.py; the lead plugs triggerfish's handler into the same harness.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_api import TIMED_OUT_ERROR_TYPE, RuntimeAPI, RuntimeProcess

HERE = Path(__file__).resolve().parent


@pytest.fixture
def api() -> Iterator[RuntimeAPI]:
    with RuntimeAPI() as server:
        yield server


def _runtime(api: RuntimeAPI, handler: str) -> RuntimeProcess:
    return RuntimeProcess(api, f"echo_handler.{handler}", path=[HERE])


def test_handler_gets_the_event_and_a_context_with_the_remaining_time(api: RuntimeAPI) -> None:
    with _runtime(api, "handler") as runtime:
        ok, body = api.invoke({"path": "/health", "n": [1, 2]}, timeout_ms=3000)
    assert ok, runtime.output()
    assert body["event"] == {"path": "/health", "n": [1, 2]}
    assert 0 < body["remaining_ms"] <= 3000


def test_context_carries_the_request_id_and_function_arn_from_the_headers(
    api: RuntimeAPI,
) -> None:
    with _runtime(api, "handler") as runtime:
        ok, body = api.invoke({}, timeout_ms=2000)
    assert ok, runtime.output()
    (invocation,) = api.invocations.values()
    assert body["request_id"] == invocation.request_id
    assert body["function_arn"] == api.function_arn
    assert body["function_name"] == "triggerfish-test-worker"


def test_one_runtime_process_serves_invocations_in_turn(api: RuntimeAPI) -> None:
    with _runtime(api, "handler") as runtime:
        answers = [api.invoke({"i": i}, timeout_ms=2000) for i in range(3)]
    assert all(ok for ok, _ in answers), runtime.output()
    assert [body["event"]["i"] for _, body in answers] == [0, 1, 2]
    assert [body["invocation_in_this_process"] for _, body in answers] == [1, 2, 3]


def test_a_raising_handler_is_reported_through_the_error_endpoint(api: RuntimeAPI) -> None:
    with _runtime(api, "fail"):
        ok, body = api.invoke({"x": 1}, timeout_ms=2000)
        ok_after, _ = api.invoke({"x": 2}, timeout_ms=2000)
    assert not ok
    assert body["errorType"] == "ValueError"
    assert "echo failed on purpose: {'x': 1}" in body["errorMessage"]
    (first, _second) = api.invocations.values()
    assert first.error_type == "ValueError"
    assert not ok_after


def test_a_handler_that_cannot_be_loaded_is_reported_as_an_init_error(api: RuntimeAPI) -> None:
    with _runtime(api, "no_such_function"):
        ok, body = api.invoke({}, timeout_ms=2000)
    assert not ok
    assert body["errorType"] == "Runtime.HandlerNotFound"
    assert api.init_errors == [body]


def test_an_answer_after_the_deadline_counts_as_a_timeout(api: RuntimeAPI) -> None:
    with _runtime(api, "sleep") as runtime:
        ok, body = api.invoke({"seconds": 0.8}, timeout_ms=100)
        in_time_ok, in_time_body = api.invoke({"seconds": 0}, timeout_ms=2000)
    assert not ok
    assert body["errorType"] == TIMED_OUT_ERROR_TYPE
    assert in_time_ok, runtime.output()
    assert in_time_body == "woke up"
