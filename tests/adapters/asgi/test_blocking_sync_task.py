"""A sync task fn blocking for 2 s under the real server (uvicorn): HTTP requests and other
runs are answered meanwhile, and the blocked run keeps its lease (issue 17; the design is
in docs/performance.md, "Sync task fns")."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.live_server import API_KEY, ThreadedServer
from triggerfish.core import IO, Client, Context, SQLiteStore, engine, invoke_trigger, lease

HEADERS = {"Authorization": f"Bearer {API_KEY}"}
BLOCKS_AT = 6
"""The step whose fn blocks; the same fn was quick (and so a candidate for the loop) before."""


def _run(url: str, run_id: str) -> dict[str, Any]:
    run: dict[str, Any] = httpx.get(f"{url}/api/runs/{run_id}", headers=HEADERS).json()
    return run


def _until_ended(url: str, run_id: str) -> dict[str, Any]:
    for _ in range(600):  # polls; the limit only keeps a broken server from hanging the suite
        run = _run(url, run_id)
        if run["status"] in ("COMPLETED", "FAILED", "TIMED_OUT", "CANCELED"):
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not end: {_run(url, run_id)}")


def test_the_server_answers_and_runs_others_while_a_sync_task_blocks_and_keeps_its_lease(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A lease shorter than the block (1 s + 0.5 s grace < 2 s), renewed every 0.1 s by the
    # heartbeat on the loop: only a loop left free keeps it, else the sweeper hands the run
    # to a second invocation that runs the blocked step again.
    monkeypatch.setattr(lease, "DEFAULT_LEASE_SECONDS", 1.0)
    monkeypatch.setattr(engine, "DEFAULT_LEASE_SECONDS", 1.0)
    monkeypatch.setattr(lease, "LEASE_GRACE_SECONDS", 0.5)
    monkeypatch.setattr(engine, "LEASE_GRACE_SECONDS", 0.5)
    monkeypatch.setattr(lease, "HEARTBEAT_SECONDS", 0.1)
    client = Client("blocking", store=SQLiteStore(tmp_path / "runs.db"), api_key=API_KEY)
    order: list[str] = []
    calls: dict[int, int] = {}
    blocked = threading.Event()

    def work(i: int) -> int:
        calls[i] = calls.get(i, 0) + 1
        if i == BLOCKS_AT:
            order.append("block start")
            blocked.set()
            time.sleep(2)
            order.append("block end")
        return i

    @client.define_job(id="blocker", trigger=invoke_trigger())
    async def blocker(payload: Any, io: IO, ctx: Context) -> Any:
        return [await io.run_task(f"s{i}", lambda i=i: work(i)) for i in range(BLOCKS_AT + 2)]

    @client.define_job(id="other", trigger=invoke_trigger())
    async def other(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.run_task("one", lambda: payload + 1)

    from triggerfish.adapters.asgi import create_app

    with caplog.at_level(logging.INFO, logger="triggerfish"), ThreadedServer(
        create_app(client, dashboard=False)
    ) as server:
        url = server.url
        first = httpx.post(f"{url}/api/jobs/blocker/invoke", json={"payload": None},
                           headers=HEADERS).json()  # fmt: skip
        assert blocked.wait(timeout=30), "the blocking step never started"
        assert httpx.get(f"{url}/health", timeout=10).status_code == 200
        order.append("health answered")
        second = httpx.post(f"{url}/api/jobs/other/invoke", json={"payload": 41},
                            headers=HEADERS).json()  # fmt: skip
        assert _until_ended(url, second["id"])["output"] == 42
        order.append("other run completed")
        ended = _until_ended(url, first["id"])

    assert order == ["block start", "health answered", "other run completed", "block end"]
    assert ended["status"] == "COMPLETED" and ended["output"] == list(range(BLOCKS_AT + 2))
    assert calls == dict.fromkeys(range(BLOCKS_AT + 2), 1)  # no step ran twice
    assert not [r for r in caplog.records if "lease lost" in r.getMessage()]
