"""A bad time written straight into the store (issue 8, item 3) must not break the API or
the dashboard for the whole store: the app under uvicorn, read over HTTP.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import httpx
import pytest
from triggerfish.core import RunStatus, TaskStatus
from triggerfish.core.store.base import LogRecord, RunRecord, TaskRecord

API_KEY = "test-key-0123456789"  # tests/adapters/conftest.py


@pytest.mark.parametrize("bad", [1e12, 1e300, -1e300, math.inf, math.nan])
def test_api_and_dashboard_survive_a_bad_stored_time(
    tmp_path: Path, serve: Any, make_live_client: Any, bad: float
) -> None:
    from triggerfish.adapters.asgi import create_app

    client = make_live_client(tmp_path / "runs.db")
    store = client.store
    store.create_run(RunRecord(id="good_run", job_id="flaky", status=RunStatus.COMPLETED,
                               created_at=1_800_000_000.0, completed_at=1_800_000_010.0))
    store.create_run(RunRecord(
        id="bad_run", job_id="flaky", status=RunStatus.WAITING,
        created_at=bad if not math.isnan(bad) else 1e13,  # SQLite keeps NaN as NULL
        started_at=bad, resume_at=bad, updated_at=bad, event_timestamp=bad, completed_at=bad,
    ))  # fmt: skip
    store.put_task(TaskRecord(run_id="bad_run", id="t", key="k", status=TaskStatus.WAITING,
                              attempts=1, started_at=bad, resume_at=bad, completed_at=None))
    store.put_logs([LogRecord(run_id="bad_run", key="run#000000", level="INFO", message="m",
                              time=bad)])  # fmt: skip
    with serve(create_app(client)) as server, httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10.0
    ) as http:
        listed = http.get("/api/runs")
        assert listed.status_code == 200, listed.text[:300]
        assert {r["id"] for r in listed.json()["runs"]} == {"good_run", "bad_run"}
        for path in ("/api/runs/bad_run", "/api/runs/good_run", "/api/runs?job=flaky&limit=1"):
            assert http.get(path).status_code == 200, path
        login = http.post("/login", data={"api_key": API_KEY}, follow_redirects=False)
        assert login.status_code == 303
        for path in ("/", "/jobs/flaky", "/runs/bad_run", "/runs/good_run"):
            page = http.get(path)
            assert page.status_code == 200, (path, page.text[:300])
    store.close()
