"""The JSON API under real uvicorn, driven over HTTP: events, invokes, runs, webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import httpx

WEBHOOK_SECRET = "s3cret"


def _send(live: Any, name: str, payload: Any, **extra: Any) -> dict[str, Any]:
    response = live.http.post("/api/events", json={"name": name, "payload": payload, **extra})
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def test_health_answers_without_a_key(live: Any) -> None:
    response = httpx.get(f"{live.url}/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_an_event_starts_a_run_that_completes_with_its_task_tree_and_logs(live: Any) -> None:
    event = _send(live, "user.created", {"name": "Ada"})
    assert set(event) >= {"id", "name", "run_ids"}
    assert event["name"] == "user.created" and len(event["run_ids"]) == 1

    run = live.wait_for_status(event["run_ids"][0], "COMPLETED")

    assert run["job_id"] == "greet"
    assert run["output"] == {"text": "hello Ada"}
    assert [task["key"] for task in run["tasks"]] == ["compose", "deliver", "pause"]
    deliver = run["tasks"][1]
    assert [child["key"] for child in deliver["children"]] == ["send"]
    assert all(task["status"] == "COMPLETED" for task in run["tasks"])
    assert [log["message"] for log in run["logs"]] == ["greeted"]
    assert run["completed_at"] is not None and run["invocation_count"] >= 2


def test_an_event_sent_twice_with_one_id_starts_one_run(live: Any) -> None:
    event_id = f"evt-{uuid.uuid4().hex}"
    first = _send(live, "user.created", {"name": "Bo"}, id=event_id)
    before = live.counts()
    second = _send(live, "user.created", {"name": "Bo"}, id=event_id)
    assert second["id"] == first["id"] == event_id
    assert second["run_ids"] == first["run_ids"]
    assert live.counts()["runs"] == before["runs"]


def test_an_event_whose_payload_breaks_the_schema_makes_an_invalid_payload_run(live: Any) -> None:
    event = _send(live, "user.created", {"nom": "Ada"})
    run = live.http.get(f"/api/runs/{event['run_ids'][0]}").json()
    assert run["status"] == "INVALID_PAYLOAD"
    assert run["error"]["type"] == "ValidationError"


def test_invoke_starts_a_run_whose_failing_task_retries_then_completes(live: Any) -> None:
    response = live.http.post("/api/jobs/flaky/invoke", json={"payload": {"n": 1}})
    assert response.status_code == 202
    run = response.json()
    assert run["job_id"] == "flaky" and run["payload"] == {"n": 1}
    assert response.headers["location"] == f"{live.url}/api/runs/{run['id']}"

    done = live.wait_for_status(run["id"], "COMPLETED")

    assert done["output"] == "ok"
    assert done["tasks"][0]["attempts"] == 2


def test_invoke_with_an_empty_body_gives_the_job_a_null_payload(live: Any) -> None:
    response = live.http.post("/api/jobs/flaky/invoke")
    assert response.status_code == 202
    assert response.json()["payload"] is None


def test_invoke_with_an_id_is_idempotent(live: Any) -> None:
    run_id = f"run-{uuid.uuid4().hex}"
    first = live.http.post("/api/jobs/flaky/invoke", json={"id": run_id})
    second = live.http.post("/api/jobs/flaky/invoke", json={"id": run_id})
    assert first.json()["id"] == second.json()["id"] == run_id


def test_cancel_stops_a_waiting_run_and_no_task_runs_after_it(live: Any) -> None:
    event = _send(live, "sleepy.start", {"seconds": 60})
    run_id = event["run_ids"][0]
    live.wait_for_status(run_id, "WAITING")

    response = live.http.post(f"/api/runs/{run_id}/cancel")

    assert response.status_code == 200
    assert response.json()["status"] == "CANCELED"
    run = live.http.get(f"/api/runs/{run_id}").json()
    assert run["status"] == "CANCELED"
    assert [task["key"] for task in run["tasks"]] == ["nap"]


def test_cancel_of_a_finished_run_returns_it_unchanged(live: Any) -> None:
    event = _send(live, "user.created", {"name": "Cy"})
    run_id = event["run_ids"][0]
    live.wait_for_status(run_id, "COMPLETED")
    response = live.http.post(f"/api/runs/{run_id}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "COMPLETED"


def test_list_runs_filters_by_job_and_status_and_pages_with_the_cursor(live: Any) -> None:
    for _ in range(3):
        live.http.post("/api/jobs/flaky/invoke", json={"payload": None})
    page = live.http.get("/api/runs", params={"job": "flaky", "limit": 2}).json()
    assert len(page["runs"]) == 2 and page["next_cursor"]
    assert all(run["job_id"] == "flaky" for run in page["runs"])
    following = live.http.get(
        "/api/runs", params={"job": "flaky", "limit": 2, "cursor": page["next_cursor"]}
    ).json()
    first_ids = {run["id"] for run in page["runs"]}
    assert following["runs"] and not first_ids & {run["id"] for run in following["runs"]}

    _send(live, "user.created", {"nom": "Ada"})  # an INVALID_PAYLOAD run of its own
    invalid = live.http.get("/api/runs", params={"status": "invalid_payload"}).json()
    assert invalid["runs"] and all(r["status"] == "INVALID_PAYLOAD" for r in invalid["runs"])


def test_list_jobs_describes_each_job_with_its_trigger_and_schema(live: Any) -> None:
    jobs = {job["id"]: job for job in live.http.get("/api/jobs").json()["jobs"]}
    assert set(jobs) == {"greet", "sleepy", "flaky", "hook", "off"}
    assert jobs["greet"]["trigger"] == {"kind": "event", "event": "user.created"}
    assert jobs["greet"]["schema"]["required"] == ["name"]
    assert jobs["off"]["enabled"] is False


def test_execute_runs_one_invocation_within_the_deadline_header(live: Any) -> None:
    event = _send(live, "sleepy.start", {"seconds": 0.2})
    run_id = event["run_ids"][0]
    live.wait_for_status(run_id, "WAITING")
    time.sleep(0.05)

    response = live.http.post(
        f"/api/runs/{run_id}/execute", headers={"X-Triggerfish-Deadline-Ms": "5000"}
    )

    assert response.status_code == 200
    outcome = response.json()
    assert set(outcome) == {"status", "resume_at"}
    assert outcome["status"] in {"WAITING", "COMPLETED"}
    live.wait_for_status(run_id, "COMPLETED")
    finished = live.http.post(f"/api/runs/{run_id}/execute").json()
    assert finished == {"status": "COMPLETED", "resume_at": None}


def _signed(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_a_github_signed_webhook_starts_a_run_once_per_delivery(live: Any) -> None:
    body = json.dumps({"ref": "refs/heads/main"}).encode()
    headers = {
        "X-Hub-Signature-256": f"sha256={_signed(body)}",
        "X-GitHub-Delivery": f"delivery-{uuid.uuid4().hex}",
        "Content-Type": "application/json",
    }
    first = httpx.post(f"{live.url}/webhooks/github", content=body, headers=headers)
    assert first.status_code == 202, first.text
    before = live.counts()
    again = httpx.post(f"{live.url}/webhooks/github", content=body, headers=headers)
    assert again.json()["id"] == first.json()["id"]
    assert live.counts()["runs"] == before["runs"]
    run = live.wait_for_status(first.json()["id"], "COMPLETED")
    assert run["output"] == {"ref": "refs/heads/main"}


def test_a_plain_hex_signed_webhook_without_a_delivery_id_is_keyed_by_its_body(live: Any) -> None:
    body = json.dumps({"n": uuid.uuid4().hex}).encode()
    headers = {"X-Signature": _signed(body)}
    first = httpx.post(f"{live.url}/webhooks/github", content=body, headers=headers)
    second = httpx.post(f"{live.url}/webhooks/github", content=body, headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
