"""A run left waiting by a stopped server completes after a new server starts on its file."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

API_KEY = "test-key-0123456789"
HEADERS = {"Authorization": f"Bearer {API_KEY}"}


def _status(url: str, run_id: str) -> dict[str, Any]:
    run: dict[str, Any] = httpx.get(f"{url}/api/runs/{run_id}", headers=HEADERS).json()
    return run


def test_a_run_waiting_when_the_server_stops_completes_after_a_restart(
    dev_server: Any, tmp_path: Path
) -> None:
    db_path = tmp_path / "restart.db"
    first = dev_server(db_path)
    event = httpx.post(
        f"{first.url}/api/events",
        json={"name": "sleepy.start", "payload": {"seconds": 2}},
        headers=HEADERS,
    ).json()
    run_id = event["run_ids"][0]
    deadline = time.monotonic() + 10
    while _status(first.url, run_id)["status"] != "WAITING":
        assert time.monotonic() < deadline, "the run never started waiting"
        time.sleep(0.05)

    output = first.stop()
    assert "Application shutdown complete" in output

    second = dev_server(db_path)
    deadline = time.monotonic() + 15
    while (run := _status(second.url, run_id))["status"] != "COMPLETED":
        assert time.monotonic() < deadline, f"the run did not resume: {run}"
        time.sleep(0.1)
    assert run["output"] == "rested"
    assert [task["key"] for task in run["tasks"]] == ["nap", "after-nap"]
