"""`triggerfish dev --reload`: an edit of the jobs module restarts the server, and a run in
flight goes on in the new process with the new code (issue 20, item 3).

No timed asserts: every wait polls the server with a generous deadline.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from support.servers import free_port, wait_for_port

TRIGGERFISH = Path(sys.executable).with_name("triggerfish")
API_KEY = "reload-test-key"
DEADLINE_SECONDS = 60.0

JOBS = """
from triggerfish.core import Client, event_trigger, invoke_trigger

client = Client.from_env("reload")
VERSION = "old"


@client.define_job(id="approve", trigger=invoke_trigger())
async def approve(payload, io, ctx):
    first = await io.run_task("before", lambda: VERSION)
    await io.wait_for_event("go", "go.ahead", timeout=3600)
    await io.wait("nap", seconds=1)
    return {"before": first, "after": VERSION}
"""


def _poll(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        try:
            found = check()
        except httpx.TransportError:  # the server is restarting
            found = None
        if found:
            return found
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.2)


def test_an_edit_restarts_the_server_and_the_waiting_run_completes_with_the_new_code(
    tmp_path: Path,
) -> None:
    (tmp_path / "reload_jobs.py").write_text(JOBS)
    port = free_port()
    env = {**os.environ, "TRIGGERFISH_API_KEY": API_KEY}
    command = [str(TRIGGERFISH), "dev", "reload_jobs:client", "--db", str(tmp_path / "dev.db"),
               "--port", str(port), "--reload", "--no-access-log"]  # fmt: skip
    server = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip
    try:
        wait_for_port(port, timeout_seconds=DEADLINE_SECONDS)
        api = httpx.Client(base_url=f"http://127.0.0.1:{port}",
                           headers={"Authorization": f"Bearer {API_KEY}"})  # fmt: skip
        run_id = api.post("/api/jobs/approve/invoke", json={}).json()["id"]

        def run() -> dict[str, Any]:
            answer: dict[str, Any] = api.get(f"/api/runs/{run_id}").json()
            return answer

        _poll(lambda: run()["status"] == "WAITING", "the run to wait for the event")

        (tmp_path / "reload_jobs.py").write_text(
            JOBS.replace('VERSION = "old"', 'VERSION = "new"')
            + '\n\n@client.define_job(id="added", trigger=invoke_trigger())\n'
            "async def added(payload, io, ctx):\n    return None\n"
        )
        # The new process serves the edited module: its new job is listed.
        _poll(lambda: "added" in str(api.get("/api/jobs").json()), "the restarted server")
        sent = api.post("/api/events", json={"name": "go.ahead", "payload": {}})
        assert sent.status_code == 202, sent.text

        finished = _poll(lambda: run()["status"] == "COMPLETED" and run(), "the run to end")
        assert finished["output"] == {"before": "old", "after": "new"}
    finally:
        os.killpg(server.pid, signal.SIGINT)
        output, _ = server.communicate(timeout=DEADLINE_SECONDS)
    assert output.count("(re)started with") >= 2, output
