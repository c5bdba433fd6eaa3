"""Retrying a failed run end to end: POST /api/runs/{id}/retry, `triggerfish retry`, the dashboard."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from triggerfish.core import IO, Client, Context, SQLiteStore, invoke_trigger

API_KEY = "retry-key-0123456789"
TRIGGERFISH = Path(sys.executable).with_name("triggerfish")


class Server:
    def __init__(self, url: str, client: Client, broken: dict[str, bool]) -> None:
        self.url, self.client, self.broken = url, client, broken
        self.http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {API_KEY}"},
                                 timeout=10.0)  # fmt: skip

    def wait_for(self, run_id: str, status: str, timeout_seconds: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout_seconds
        run: Any = None
        while time.monotonic() < deadline:
            run = self.http.get(f"/api/runs/{run_id}").json()
            if run["status"] == status:
                return run
            time.sleep(0.05)
        raise AssertionError(f"run {run_id} never reached {status}; last seen {run}")

    def failed_run(self) -> str:
        self.broken["charge"] = True
        run_id: str = self.http.post("/api/jobs/pay/invoke", json={}).json()["id"]
        self.wait_for(run_id, "FAILED")
        self.broken["charge"] = False
        return run_id


@pytest.fixture
def server(tmp_path: Path, serve: Any) -> Iterator[Server]:
    from triggerfish.adapters.asgi import create_app

    client = Client("retry", store=SQLiteStore(tmp_path / "runs.db"), api_key=API_KEY)
    broken = {"charge": True}
    calls: list[str] = []

    @client.define_job(id="pay", trigger=invoke_trigger())
    async def pay(payload: Any, io: IO, ctx: Context) -> Any:
        reserved = await io.run_task("reserve", lambda: calls.append("reserve") or "reserved")

        def charge() -> str:
            if broken["charge"]:
                raise RuntimeError("card declined")
            return "charged"

        return [reserved, await io.run_task("charge", charge)]

    with serve(create_app(client)) as running:
        made = Server(running.url, client, broken)
        made.calls = calls  # type: ignore[attr-defined]
        yield made
        made.http.close()
    client.store.close()


def test_post_retry_continues_a_failed_run_to_completion_keeping_its_completed_task(
    server: Server,
) -> None:
    run_id = server.failed_run()
    answer = server.http.post(f"/api/runs/{run_id}/retry")
    assert answer.status_code == 200
    assert answer.json()["status"] in ("PENDING", "EXECUTING", "COMPLETED")
    done = server.wait_for(run_id, "COMPLETED")
    assert done["output"] == ["reserved", "charged"]
    assert server.calls == ["reserve"]  # type: ignore[attr-defined]
    assert [t["attempts"] for t in done["tasks"]] == [1, 2]


def test_post_retry_of_a_run_that_did_not_fail_is_a_409_naming_its_status(server: Server) -> None:
    run_id = server.failed_run()
    server.http.post(f"/api/runs/{run_id}/retry")
    server.wait_for(run_id, "COMPLETED")
    answer = server.http.post(f"/api/runs/{run_id}/retry")
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert (error["code"], error["run_id"], error["status"]) == (
        "run_not_retryable", run_id, "COMPLETED")  # fmt: skip
    assert "only a FAILED or TIMED_OUT run can be retried" in error["message"]
    assert server.http.post("/api/runs/run_missing/retry").status_code == 404
    assert httpx.post(f"{server.url}/api/runs/{run_id}/retry").status_code == 401


def test_the_retry_route_is_in_the_openapi_document(server: Server) -> None:
    spec = server.http.get("/openapi.json").json()
    operation = spec["paths"]["/api/runs/{run_id}/retry"]["post"]
    assert operation["operationId"] == "retry_run"
    assert set(operation["responses"]) >= {"200", "404", "409"}


def _cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIGGERFISH_")}
    env.update(TRIGGERFISH_URL=url, TRIGGERFISH_API_KEY=API_KEY)
    return subprocess.run([str(TRIGGERFISH), *args], env=env, capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip


def test_the_cli_retries_a_failed_run_and_refuses_a_completed_one(server: Server) -> None:
    run_id = server.failed_run()
    result = _cli("retry", run_id, url=server.url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"run {run_id}: PENDING (failed tasks tried afresh: charge)"
    server.wait_for(run_id, "COMPLETED")
    again = _cli("retry", run_id, url=server.url)
    assert again.returncode == 1 and "Traceback" not in again.stderr
    assert again.stderr.strip().startswith("error: 409 run_not_retryable: ")


def test_the_dashboard_offers_retry_on_a_failed_run_and_needs_the_csrf_token(
    server: Server,
) -> None:
    run_id = server.failed_run()
    with httpx.Client(base_url=server.url, timeout=10.0) as browser:
        assert browser.post("/login", data={"api_key": API_KEY, "next": "/"}).status_code == 303
        page = browser.get(f"/runs/{run_id}")
        assert f'action="/runs/{run_id}/retry"' in page.text and "Retry</button>" in page.text
        assert "Re-run with the same payload" in page.text
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
        assert token
        refused = browser.post(f"/runs/{run_id}/retry", data={"csrf_token": "0" * 32})
        assert refused.status_code == 403
        assert server.http.get(f"/api/runs/{run_id}").json()["status"] == "FAILED"
        answer = browser.post(f"/runs/{run_id}/retry", data={"csrf_token": token.group(1)})
        assert answer.status_code == 303 and answer.headers["location"].endswith(run_id)
        server.wait_for(run_id, "COMPLETED")
        done = browser.get(f"/runs/{run_id}")
        assert f'action="/runs/{run_id}/retry"' not in done.text
