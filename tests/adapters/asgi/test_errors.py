"""Every bad request gets its status and the JSON error shape, and changes nothing stored."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

BIG = b'{"name": "user.created", "payload": "' + b"x" * (256 * 1024) + b'"}'
JSON = {"Content-Type": "application/json"}


def store_digest(db_path: Path) -> str:
    """A hash of everything the store holds, so any write shows."""
    digest = hashlib.sha256()
    with sqlite3.connect(db_path) as db:
        for table in ("runs", "tasks", "logs", "events", "slots"):
            for row in db.execute(f"SELECT * FROM {table} ORDER BY 1, 2"):
                digest.update(repr(row).encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def waiting_run_id(live: Any) -> str:
    """A run waiting a minute, the target of the run-level bad requests."""
    event = live.http.post("/api/events", json={"name": "sleepy.start", "payload": {}}).json()
    run_id: str = event["run_ids"][0]
    live.wait_for_status(run_id, "WAITING")
    return run_id


@pytest.fixture
def unchanged(live: Any, waiting_run_id: str) -> Iterator[None]:
    """Asserts that the test leaves the store exactly as it found it."""
    before = store_digest(live.db_path)
    yield
    assert store_digest(live.db_path) == before


def _chunks(total: int) -> Iterator[bytes]:
    yield b'{"name": "user.created", "payload": "'
    sent = 0
    while sent < total:
        yield b"y" * 65536
        sent += 65536
    yield b'"}'


BAD_API_REQUESTS = [
    ("POST", "/api/events", {"content": b"{not json", "headers": JSON}, 400, "invalid_json", None),
    ("POST", "/api/events", {"json": {"payload": 1}}, 422, "validation_error", ["body", "name"]),
    ("POST", "/api/events", {"json": {"name": ""}}, 422, "validation_error", ["body", "name"]),
    ("POST", "/api/events", {"json": {"name": "a", "nme": 1}}, 422, "validation_error",
     ["body", "nme"]),
    ("POST", "/api/events", {"json": ["user.created"]}, 422, "validation_error", ["body"]),
    ("POST", "/api/events", {"json": {"name": "a", "timestamp": "yesterday"}}, 422,
     "validation_error", ["body", "timestamp"]),
    ("POST", "/api/events", {"content": b'{"name": "user.created", "payload": NaN}'}, 422,
     "validation_error", None),
    ("POST", "/api/events", {"content": BIG, "headers": JSON}, 413, "payload_too_large", None),
    ("POST", "/api/jobs/nope/invoke", {"json": {}}, 404, "job_not_found", None),
    ("POST", "/api/jobs/off/invoke", {"json": {}}, 409, "conflict", None),
    ("POST", "/api/jobs/flaky/invoke", {"content": b"[1,", "headers": JSON}, 400,
     "invalid_json", None),
    ("POST", "/api/jobs/flaky/invoke", {"json": {"payload": 1, "extra": 2}}, 422,
     "validation_error", ["body", "extra"]),
    ("POST", "/api/jobs/flaky/invoke", {"json": [1, 2]}, 422, "validation_error", ["body"]),
    ("GET", "/api/runs/nope", {}, 404, "run_not_found", None),
    ("POST", "/api/runs/nope/cancel", {}, 404, "run_not_found", None),
    ("POST", "/api/runs/nope/execute", {}, 404, "run_not_found", None),
    ("GET", "/api/runs", {"params": {"limit": "0"}}, 422, "validation_error", ["query", "limit"]),
    ("GET", "/api/runs", {"params": {"limit": "1001"}}, 422, "validation_error",
     ["query", "limit"]),
    ("GET", "/api/runs", {"params": {"limit": "ten"}}, 422, "validation_error",
     ["query", "limit"]),
    ("GET", "/api/runs", {"params": {"status": "SLEEPING"}}, 422, "validation_error",
     ["query", "status"]),
    ("GET", "/api/runs", {"params": {"cursor": "not-a-cursor"}}, 422, "validation_error",
     ["query", "cursor"]),
    ("GET", "/api/runs", {"params": {"cursor": "e30"}}, 422, "validation_error",
     ["query", "cursor"]),
    ("GET", "/api/events", {}, 405, "method_not_allowed", None),
    ("GET", "/api/nowhere", {}, 404, "not_found", None),
]


@pytest.mark.parametrize(
    ("method", "path", "options", "status", "code", "loc"),
    BAD_API_REQUESTS,
    ids=[f"{m} {p} {s}" for m, p, _, s, _, _ in BAD_API_REQUESTS],
)
def test_a_bad_api_request_gets_its_status_and_error_and_stores_nothing(
    live: Any, unchanged: None, method: str, path: str, options: dict[str, Any], status: int,
    code: str, loc: list[str] | None,
) -> None:
    response = live.http.request(method, path, **options)

    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    if loc is not None:
        assert loc in [field["loc"] for field in error["fields"]]


@pytest.mark.parametrize("header", ["abc", "0", "-5", "86400001"])
def test_a_bad_deadline_header_is_a_422_naming_it_and_runs_nothing(
    live: Any, unchanged: None, waiting_run_id: str, header: str
) -> None:
    response = live.http.post(
        f"/api/runs/{waiting_run_id}/execute", headers={"X-Triggerfish-Deadline-Ms": header}
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["loc"] == ["header", "X-Triggerfish-Deadline-Ms"]


def test_a_chunked_body_over_the_limit_is_refused_while_it_is_read(
    live: Any, unchanged: None
) -> None:
    response = live.http.post("/api/events", content=_chunks(300 * 1024), headers=JSON)
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "payload_too_large",
        "message": f"request body is over the limit of {256 * 1024} bytes",
        "max_body_bytes": 256 * 1024,
    }


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-key", "Basic dGVzdC1rZXk=", "Bearer", "test-key"]
)
@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/events"), ("GET", "/api/runs"), ("GET", "/api/jobs"),
     ("POST", "/api/runs/{run}/cancel"), ("POST", "/api/runs/{run}/execute"),
     ("POST", "/api/jobs/flaky/invoke")],
)
def test_an_api_request_without_the_right_key_is_a_401_and_changes_nothing(
    live: Any, unchanged: None, waiting_run_id: str, authorization: str | None, method: str,
    path: str,
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = httpx.request(
        method, live.url + path.format(run=waiting_run_id), headers=headers,
        json={"name": "user.created", "payload": {"name": "x"}},
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("headers", "body", "status", "code"),
    [
        ({}, b'{"a": 1}', 401, "invalid_signature"),
        ({"X-Hub-Signature-256": "sha256=" + "0" * 64}, b'{"a": 1}', 401, "invalid_signature"),
        ({"X-Signature": "not-hex"}, b'{"a": 1}', 401, "invalid_signature"),
    ],
)
def test_a_webhook_with_a_missing_or_wrong_signature_is_a_401_and_stores_nothing(
    live: Any, unchanged: None, headers: dict[str, str], body: bytes, status: int, code: str
) -> None:
    response = httpx.post(f"{live.url}/webhooks/github", content=body, headers=headers)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_a_webhook_to_an_unknown_trigger_is_a_404(live: Any, unchanged: None) -> None:
    response = httpx.post(f"{live.url}/webhooks/gitlab", content=b"{}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "webhook_not_found"


def test_a_signed_webhook_whose_body_is_not_json_is_a_400(live: Any, unchanged: None) -> None:
    import hmac

    body = b"payload=%7B%7D"
    signature = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    response = httpx.post(
        f"{live.url}/webhooks/github", content=body, headers={"X-Signature": signature}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_a_refused_cancel_leaves_the_waiting_run_waiting(live: Any, waiting_run_id: str) -> None:
    response = httpx.post(f"{live.url}/api/runs/{waiting_run_id}/cancel")
    assert response.status_code == 401
    assert live.http.get(f"/api/runs/{waiting_run_id}").json()["status"] == "WAITING"
