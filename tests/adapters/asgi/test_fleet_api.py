"""Fleet operations over HTTP under real uvicorn (issue 19): pause and resume a job, bulk
cancel and retry, stored schedules; the CLI and the dashboard's forms on the same server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from triggerfish.core import IO, Client, Context, invoke_trigger

API_KEY = "fleet-key-0123456789"
TRIGGERFISH = Path(sys.executable).with_name("triggerfish")


class Server:
    """The app serving a client with a quick job and a failing one, and an HTTP client."""

    def __init__(self, url: str, client: Client, broken: dict[str, bool]) -> None:
        self.url = url
        self.client = client
        self.broken = broken
        self.http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {API_KEY}"},
                                 timeout=15.0)  # fmt: skip

    def wait_for(self, run_id: str, *statuses: str, timeout_seconds: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout_seconds
        run: Any = None
        while time.monotonic() < deadline:
            run = self.http.get(f"/api/runs/{run_id}").json()
            if run["status"] in statuses:
                return run
            time.sleep(0.05)
        raise AssertionError(f"run {run_id} never reached {statuses}; last seen {run}")

    def invoke(self, job_id: str, payload: Any = None) -> str:
        answer = self.http.post(f"/api/jobs/{job_id}/invoke", json={"payload": payload})
        assert answer.status_code == 202, answer.text
        run_id: str = answer.json()["id"]
        return run_id

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRIGGERFISH_")}
        env.update(TRIGGERFISH_URL=self.url, TRIGGERFISH_API_KEY=API_KEY)
        return subprocess.run([str(TRIGGERFISH), *args], env=env, capture_output=True,
                              text=True, timeout=60, check=False)  # fmt: skip

    @contextmanager
    def browser(self) -> Iterator[httpx.Client]:
        """A logged-in dashboard session (cookie) without the API key header."""
        with httpx.Client(base_url=self.url, timeout=15.0) as browser:
            login = browser.post("/login", data={"api_key": API_KEY, "next": "/"})
            assert login.status_code == 303
            yield browser


@pytest.fixture
def server(sqlite_or_moto_store: Any, serve: Any) -> Iterator[Server]:
    from triggerfish.adapters.asgi import create_app

    client = Client("fleet", store=sqlite_or_moto_store, api_key=API_KEY)
    broken = {"now": True}

    @client.define_job(id="quick", trigger=invoke_trigger())
    async def quick(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.run_task("echo", lambda: payload)

    @client.define_job(id="flaky", trigger=invoke_trigger())
    async def flaky(payload: Any, io: IO, ctx: Context) -> Any:
        def work() -> str:
            if broken["now"]:
                raise RuntimeError("broken for now")
            return "fixed"

        return await io.run_task("work", work)

    with serve(create_app(client)) as running:
        made = Server(running.url, client, broken)
        yield made
        made.http.close()


def csrf_token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


# -- 19.6: pause and resume -------------------------------------------------------------


def test_a_paused_job_queues_its_runs_until_resumed_over_the_api(server: Server) -> None:
    paused = server.http.post("/api/jobs/quick/pause")
    assert paused.status_code == 200
    assert paused.json() == {"job_id": "quick", "paused": True, "changed": True}
    assert server.http.post("/api/jobs/quick/pause").json()["changed"] is False
    jobs = {j["id"]: j for j in server.http.get("/api/jobs").json()["jobs"]}
    assert (jobs["quick"]["paused"], jobs["flaky"]["paused"]) == (True, False)

    run_ids = [server.invoke("quick", n) for n in range(3)]
    assert [server.http.get(f"/api/runs/{r}").json()["status"] for r in run_ids] == ["QUEUED"] * 3

    resumed = server.http.post("/api/jobs/quick/resume")
    assert resumed.json() == {"job_id": "quick", "paused": False, "changed": True}
    outputs = [server.wait_for(r, "COMPLETED")["output"] for r in run_ids]
    assert outputs == [0, 1, 2]
    assert server.http.post("/api/jobs/nope/pause").status_code == 404
    assert httpx.post(f"{server.url}/api/jobs/quick/pause").status_code == 401
    spec = server.http.get("/openapi.json").json()
    assert spec["paths"]["/api/jobs/{job_id}/pause"]["post"]["operationId"] == "pause_job"


def test_the_cli_pauses_and_resumes_a_job(server: Server) -> None:
    first = server.cli("pause", "quick")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "job quick: paused"
    assert server.cli("pause", "quick").stdout.strip() == "job quick: paused (it was paused already)"
    run_id = server.invoke("quick", "x")
    assert server.http.get(f"/api/runs/{run_id}").json()["status"] == "QUEUED"
    assert server.cli("resume", "quick").stdout.strip() == "job quick: running"
    server.wait_for(run_id, "COMPLETED")
    unknown = server.cli("pause", "nope")
    assert unknown.returncode == 1 and unknown.stderr.startswith("error: 404")


def test_the_dashboard_pauses_and_resumes_a_job_from_its_page(server: Server) -> None:
    with server.browser() as browser:
        page = browser.get("/jobs/quick").text
        assert "Pause job" in page and "Paused" not in page
        forged = browser.post("/jobs/quick/pause", data={"csrf_token": "wrong"})
        assert forged.status_code == 403
        paused = browser.post("/jobs/quick/pause", data={"csrf_token": csrf_token(page)})
        assert paused.status_code == 303 and paused.headers["location"].endswith("/jobs/quick")
        page = browser.get("/jobs/quick").text
        assert "Resume job" in page and "Paused" in page
        assert "paused" in browser.get("/").text
        browser.post("/jobs/quick/resume", data={"csrf_token": csrf_token(page)})
        assert "Pause job" in browser.get("/jobs/quick").text
    assert server.http.post("/api/jobs/quick/pause").json()["changed"] is True


# -- 19.7: bulk cancel and retry ----------------------------------------------------------


def failed_runs(server: Server, count: int) -> list[str]:
    run_ids = [server.invoke("flaky", n) for n in range(count)]
    for run_id in run_ids:
        server.wait_for(run_id, "FAILED")
    return run_ids


def test_bulk_retry_and_cancel_by_filter_answer_the_ids_acted_on(server: Server) -> None:
    failed = failed_runs(server, 2)
    server.http.post("/api/jobs/quick/pause")
    queued = [server.invoke("quick", n) for n in range(2)]
    server.broken["now"] = False

    retried = server.http.post("/api/runs/retry", json={"job_id": "flaky", "status": ["failed"]})
    assert retried.status_code == 200
    assert sorted(retried.json()["run_ids"]) == sorted(failed)
    assert [server.wait_for(r, "COMPLETED")["output"] for r in failed] == ["fixed", "fixed"]
    assert server.http.post("/api/runs/retry", json={}).json() == {"run_ids": []}

    later = server.http.post("/api/runs/cancel", json={
        "job_id": "quick", "created_after": "2999-01-01T00:00:00"}).json()  # fmt: skip
    assert later == {"run_ids": []}
    canceled = server.http.post("/api/runs/cancel", json={"job_id": "quick", "limit": 1}).json()
    assert canceled == {"run_ids": [queued[1]]}  # newest first, one per call
    again = server.http.post("/api/runs/cancel", json={"job_id": "quick"}).json()
    assert again == {"run_ids": [queued[0]]}
    assert server.http.post("/api/runs/cancel", json={"job_id": "quick"}).json() == {"run_ids": []}

    bad = server.http.post("/api/runs/cancel", json={"status": "SLEEPING", "limit": 5000})
    assert bad.status_code == 422
    fields = {".".join(f["loc"]) for f in bad.json()["error"]["fields"]}
    assert fields == {"body.status.0", "body.limit"}
    assert httpx.post(f"{server.url}/api/runs/cancel", json={}).status_code == 401
    spec = server.http.get("/openapi.json").json()
    assert spec["paths"]["/api/runs/retry"]["post"]["operationId"] == "retry_runs"
    assert "BulkRunsBody" in spec["components"]["schemas"]


def test_the_cli_retries_and_cancels_runs_by_filter(server: Server) -> None:
    failed = failed_runs(server, 1)
    server.broken["now"] = False
    result = server.cli("retry-runs", "--job", "flaky", "--status", "FAILED")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["1 run(s) retried", f"  {failed[0]}"]
    server.wait_for(failed[0], "COMPLETED")
    server.http.post("/api/jobs/quick/pause")
    queued = server.invoke("quick")
    canceled = server.cli("cancel-runs", "--job", "quick", "--created-before", "2999-01-01")
    assert canceled.stdout.splitlines() == ["1 run(s) canceled", f"  {queued}"]
    bad = server.cli("cancel-runs", "--status", "SLEEPING")
    assert bad.returncode == 1 and bad.stderr.startswith("error: 422")


def test_the_dashboard_cancels_or_retries_the_runs_selected_on_a_job_page(server: Server) -> None:
    failed = failed_runs(server, 2)
    server.broken["now"] = False
    with server.browser() as browser:
        page = browser.get("/jobs/flaky").text
        assert page.count('type="checkbox" name="run_id"') == 2
        assert "Retry selected" in page and "Cancel selected" in page
        token = csrf_token(page)
        forged = browser.post("/jobs/flaky/runs", data={"action": "retry", "run_id": failed})
        assert forged.status_code == 403
        answer = browser.post("/jobs/flaky/runs", data={
            "csrf_token": token, "action": "retry", "run_id": [failed[0], "run_other"]})  # fmt: skip
        assert answer.status_code == 303
        shown = browser.get(answer.headers["location"]).text
        assert "1 run(s) retried." in shown
    assert server.wait_for(failed[0], "COMPLETED")["output"] == "fixed"
    assert server.http.get(f"/api/runs/{failed[1]}").json()["status"] == "FAILED"


# -- 19.9: schedules made at run time -----------------------------------------------------


def test_schedules_are_created_listed_paused_resumed_and_deleted_over_the_api(
    server: Server,
) -> None:
    made = server.http.post("/api/schedules", json={
        "job_id": "quick", "cron": "0 9 * * MON", "timezone": "Europe/Berlin",
        "payload": {"tenant": "a"}, "id": "weekly-a"})  # fmt: skip
    assert made.status_code == 201, made.text
    body = made.json()
    assert {k: body[k] for k in ("id", "job_id", "cron", "interval", "timezone", "payload",
                                 "paused", "declared")} == {
        "id": "weekly-a", "job_id": "quick", "cron": "0 9 * * MON", "interval": None,
        "timezone": "Europe/Berlin", "payload": {"tenant": "a"}, "paused": False,
        "declared": False}  # fmt: skip
    assert body["next_at"] is not None
    interval = server.http.post("/api/schedules", json={"job_id": "flaky", "interval": 3600})
    assert interval.status_code == 201 and interval.json()["id"].startswith("sched_")

    listed = server.http.get("/api/schedules", params={"job": "quick", "count": 2}).json()
    assert [s["id"] for s in listed["schedules"]] == ["weekly-a"]
    assert len(listed["schedules"][0]["next_fire_times"]) == 2
    assert len(server.http.get("/api/schedules").json()["schedules"]) == 2

    paused = server.http.post("/api/schedules/weekly-a/pause").json()
    assert (paused["paused"], paused["next_at"]) == (True, None)
    assert server.http.get("/api/schedules/weekly-a").json()["paused"] is True
    assert server.http.post("/api/schedules/weekly-a/resume").json()["paused"] is False
    assert server.http.delete("/api/schedules/weekly-a").json() == {"id": "weekly-a",
                                                                    "deleted": True}  # fmt: skip
    gone = server.http.delete("/api/schedules/weekly-a")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "schedule_not_found"
    assert server.http.post("/api/schedules/weekly-a/pause").status_code == 404

    bad = server.http.post("/api/schedules", json={"job_id": "quick", "cron": "99 * * * *"})
    assert bad.status_code == 422 and "is invalid" in bad.json()["error"]["message"]
    both = server.http.post("/api/schedules", json={"job_id": "quick"})
    assert both.status_code == 422 and "exactly one of cron= and interval=" in both.text
    assert server.http.post("/api/schedules", json={"job_id": "nope", "interval": 60}
                            ).status_code == 404  # fmt: skip
    assert httpx.get(f"{server.url}/api/schedules").status_code == 401
    spec = server.http.get("/openapi.json").json()
    assert spec["paths"]["/api/schedules"]["post"]["operationId"] == "create_schedule"
    assert "delete" in spec["paths"]["/api/schedules/{schedule_id}"]


def test_the_cli_manages_schedules_and_the_dashboard_shows_them(server: Server) -> None:
    made = server.cli("create-schedule", "quick", "--interval", "3600", "--id", "hourly",
                      "--payload", '{"tenant": "b"}')  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("schedule hourly of quick: every 3600s, next ")
    listed = server.cli("schedules", "--job", "quick")
    assert listed.stdout.splitlines()[0].split() == ["ID", "JOB", "WHEN", "NEXT", "KIND"]
    assert "hourly" in listed.stdout and "stored" in listed.stdout
    assert server.cli("pause-schedule", "hourly").stdout.strip() == "schedule hourly: paused"
    with server.browser() as browser:
        page = browser.get("/jobs/quick").text
        assert "Schedules" in page and "hourly" in page and "every 3600 s" in page
    assert server.cli("resume-schedule", "hourly").stdout.startswith("schedule hourly: next ")
    assert server.cli("delete-schedule", "hourly").stdout.strip() == "schedule hourly: deleted"
    missing = server.cli("delete-schedule", "hourly")
    assert missing.returncode == 1 and missing.stderr.startswith("error: 404 schedule_not_found")
