"""The real `triggerfish` command against a live server (and moto for init-table)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.servers import free_port

HERE = Path(__file__).resolve().parent
TRIGGERFISH = Path(sys.executable).with_name("triggerfish")
API_KEY = "test-key-0123456789"


def triggerfish(
    *args: str, url: str | None = None, api_key: str | None = API_KEY, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """Runs the installed console script; TRIGGERFISH_URL / _API_KEY set when given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIGGERFISH_")}
    if url is not None:
        env["TRIGGERFISH_URL"] = url
    if api_key is not None:
        env["TRIGGERFISH_API_KEY"] = api_key
    return subprocess.run(
        [str(TRIGGERFISH), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_one_error_line(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_send_event_prints_the_event_and_its_runs(live: Any) -> None:
    result = triggerfish("send-event", "user.created", '{"name": "Ada"}', url=live.url)
    assert result.returncode == 0, result.stderr
    run_id = re.search(r"run_\w+", result.stdout)
    assert run_id and "started 1 run(s)" in result.stdout
    live.wait_for_status(run_id.group(0), "COMPLETED")


def test_send_event_with_an_id_is_idempotent_and_json_prints_the_answer(live: Any) -> None:
    event_id = f"cli-{uuid.uuid4().hex}"
    args = ("send-event", "user.created", '{"name": "Bo"}', "--id", event_id, "--json")
    first = json.loads(triggerfish(*args, url=live.url).stdout)
    second = json.loads(triggerfish(*args, url=live.url).stdout)
    assert first["id"] == second["id"] == event_id
    assert first["run_ids"] == second["run_ids"]


def test_invoke_starts_a_run_of_the_job(live: Any) -> None:
    run_id = f"cli-invoke-{uuid.uuid4().hex[:8]}"
    result = triggerfish("invoke", "flaky", "{}", "--id", run_id, url=live.url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"run {run_id} of flaky: ")
    live.wait_for_status(run_id, "COMPLETED")
    unknown = triggerfish("invoke", "no-such-job", url=live.url)
    assert unknown.returncode == 1 and "job_not_found" in unknown.stderr


def test_a_delayed_event_is_pending_until_canceled(live: Any) -> None:
    event_id = f"cli-later-{uuid.uuid4().hex[:8]}"
    sent = triggerfish("send-event", "user.created", '{"name": "Cy"}', "--id", event_id,
                       "--deliver-after", "3600", url=live.url)  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.startswith(f"event {event_id} (user.created) is delivered at ")
    canceled = triggerfish("cancel-event", event_id, url=live.url)
    assert canceled.returncode == 0, canceled.stderr
    assert canceled.stdout.strip() == f"event {event_id}: canceled"
    again = triggerfish("cancel-event", event_id, url=live.url)
    assert "already delivered or canceled" in again.stdout
    unknown = triggerfish("cancel-event", "no-such-event", url=live.url)
    assert_one_error_line(unknown, "no-such-event")


def test_send_event_that_no_job_listens_to_says_so(live: Any) -> None:
    result = triggerfish("send-event", "no.such.event", url=live.url)
    assert result.returncode == 0 and "no enabled job listens to 'no.such.event'" in result.stdout


def test_runs_lists_runs_filtered_by_job_and_status(live: Any) -> None:
    live.http.post("/api/jobs/flaky/invoke", json={})
    result = triggerfish("runs", "--job", "flaky", "--limit", "5", url=live.url)
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.strip().splitlines()
    assert header.split() == ["ID", "JOB", "STATUS", "CREATED", "DURATION"]
    assert rows and all(row.split()[1] == "flaky" for row in rows)
    empty = triggerfish("runs", "--status", "timed_out", url=live.url)
    assert empty.stdout.strip() == "no runs"


def test_run_prints_the_task_tree_with_statuses_and_durations(live: Any) -> None:
    event = live.http.post(
        "/api/events", json={"name": "user.created", "payload": {"name": "Cy"}}
    ).json()
    run_id = event["run_ids"][0]
    live.wait_for_status(run_id, "COMPLETED")

    result = triggerfish("run", run_id, url=live.url)

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"run {run_id}  job greet" in out and "status     COMPLETED" in out
    assert re.search(r"├─ compose  COMPLETED  \d+ms", out)
    assert re.search(r"├─ deliver  COMPLETED", out)
    assert re.search(r"│  └─ send  COMPLETED", out)
    assert re.search(
        r"└─ pause \(wait\)  COMPLETED  0\.\d+s|└─ pause \(wait\)  COMPLETED  \d+ms", out
    )
    assert 'INFO  greeted name="Cy"' in out


def test_cancel_cancels_a_waiting_run(live: Any) -> None:
    event = live.http.post("/api/events", json={"name": "sleepy.start", "payload": {}}).json()
    run_id = event["run_ids"][0]
    live.wait_for_status(run_id, "WAITING")

    result = triggerfish("cancel", run_id, url=live.url)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"run {run_id}: CANCELED"
    assert live.http.get(f"/api/runs/{run_id}").json()["status"] == "CANCELED"


def test_a_refused_connection_is_one_error_line(live: Any) -> None:
    result = triggerfish("runs", url=f"http://127.0.0.1:{free_port()}")
    assert_one_error_line(result, "cannot connect to", "is the server running?")


def test_a_wrong_api_key_is_one_error_line_naming_the_key(live: Any) -> None:
    result = triggerfish("runs", url=live.url, api_key="wrong")
    assert_one_error_line(result, "401 unauthorized", "TRIGGERFISH_API_KEY")


def test_an_unknown_run_is_one_404_error_line(live: Any) -> None:
    assert_one_error_line(triggerfish("run", "nope", url=live.url), "404 run_not_found", "nope")
    assert_one_error_line(triggerfish("cancel", "nope", url=live.url), "404 run_not_found")


def test_a_missing_api_key_and_bad_json_are_error_lines(live: Any) -> None:
    assert_one_error_line(triggerfish("runs", url=live.url, api_key=None), "no API key")
    result = triggerfish("send-event", "user.created", "{nope", url=live.url)
    assert_one_error_line(result, "not valid JSON")


def test_the_url_option_overrides_the_environment(live: Any) -> None:
    result = triggerfish("runs", "--url", live.url, url=f"http://127.0.0.1:{free_port()}")
    assert result.returncode == 0, result.stderr


def test_dev_generates_and_prints_an_api_key_when_the_client_has_none(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIGGERFISH_")}
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(HERE.parent)])
    process = subprocess.Popen(
        [
            str(TRIGGERFISH),
            "dev",
            "live_app:client",
            "--db",
            str(tmp_path / "dev.db"),
            "--port",
            str(port),
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        key = None
        deadline = time.monotonic() + 20
        while key is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            match = re.match(r"\s*API key: (\S+)", line)
            key = match.group(1) if match else None
        assert key, "dev printed no API key"
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(f"{url}/api/jobs", headers={"Authorization": f"Bearer {key}"})
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert response.status_code == 200
        assert not (tmp_path / "triggerfish.db").exists()
        assert (tmp_path / "dev.db").exists()
    finally:
        process.terminate()
        process.communicate(timeout=15)


def test_dev_with_a_target_that_is_not_a_client_is_one_error_line() -> None:
    result = triggerfish("dev", "json:dumps")
    assert_one_error_line(result, "must name a triggerfish Client", "function")
    assert_one_error_line(triggerfish("dev", "no_such_module:client"), "cannot import module")


def test_init_table_creates_the_table_once(moto_url: str) -> None:
    table = f"cli-{uuid.uuid4().hex[:8]}"
    args = ("init-table", "--table", table, "--endpoint-url", moto_url, "--region", "us-east-1")
    first = triggerfish(*args)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"table {table!r} at {moto_url}: created"
    again = triggerfish(*args)
    assert again.stdout.strip() == f"table {table!r} at {moto_url}: already exists"


def test_init_table_without_a_table_name_is_one_error_line() -> None:
    assert_one_error_line(triggerfish("init-table"), "--table", "TRIGGERFISH_TABLE")


@pytest.mark.parametrize("args", [[], ["runs", "--limit", "many"]])
def test_usage_errors_exit_2(args: list[str]) -> None:
    assert triggerfish(*args).returncode == 2


@pytest.mark.parametrize("access_log", [True, False])
def test_dev_logs_each_request_unless_told_not_to(tmp_path: Path, access_log: bool) -> None:
    port, key = free_port(), "access-log-key"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIGGERFISH_")}
    env.update(PYTHONPATH=os.pathsep.join([str(HERE), str(HERE.parent)]), TRIGGERFISH_API_KEY=key)
    flags = [] if access_log else ["--no-access-log"]
    command = [str(TRIGGERFISH), "dev", "live_app:client", "--db", str(tmp_path / "dev.db"),
               "--port", str(port), *flags]  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/jobs",
                                     headers={"Authorization": f"Bearer {key}"})  # fmt: skip
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "dev did not start"
                time.sleep(0.05)
        assert response.status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)

    assert ("GET /api/jobs" in output) is access_log, output


def test_dev_sends_each_response_whole_on_a_kept_alive_connection(tmp_path: Path) -> None:
    """Responses on a kept-alive connection come whole and in order (their head and body
    are joined into one send, see the next test)."""
    import socket

    port, key = free_port(), "one-packet-key"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIGGERFISH_")}
    env.update(PYTHONPATH=os.pathsep.join([str(HERE), str(HERE.parent)]), TRIGGERFISH_API_KEY=key)
    command = [str(TRIGGERFISH), "dev", "live_app:client", "--db", str(tmp_path / "dev.db"),
               "--port", str(port), "--no-access-log"]  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                connection = socket.create_connection(("127.0.0.1", port), timeout=30)
                break
            except OSError:
                assert time.monotonic() < deadline, "dev did not start"
                time.sleep(0.05)
        with connection:
            for n in range(3):
                body = json.dumps({"name": "nothing.listens", "payload": {"n": n}}).encode()
                connection.sendall(
                    b"POST /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n".encode()
                    + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
                )  # fmt: skip
                answer = connection.recv(65536)
                head, _, content = answer.partition(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 202 "), answer
                length = re.search(rb"(?i)content-length: (\d+)", head)
                assert length is not None and len(content) == int(length.group(1)), answer
                assert json.loads(content)["payload"] == {"n": n}
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def test_dev_joins_the_writes_of_one_loop_turn_into_one_send() -> None:
    """`triggerfish dev`'s transport: uvicorn's two writes of a response (head, body) go out
    as one send at the end of the loop's turn; a close sends what is pending first."""
    import asyncio

    from triggerfish.adapters.cli import CoalescedWrites

    class Transport:
        def __init__(self) -> None:
            self.writes: list[bytes] = []
            self.closed = False

        def write(self, data: bytes) -> None:
            self.writes.append(data)

        def is_closing(self) -> bool:
            return self.closed

        def close(self) -> None:
            self.closed = True

        def get_extra_info(self, name: str) -> str:
            return f"info {name}"

    async def scenario() -> Transport:
        transport = Transport()
        writes = CoalescedWrites(transport, asyncio.get_running_loop())
        writes.write(b"HTTP/1.1 200 OK\r\n\r\n")
        writes.write(b"")
        writes.write(b"{}")
        assert transport.writes == []
        await asyncio.sleep(0)
        assert transport.writes == [b"HTTP/1.1 200 OK\r\n\r\n{}"]
        writes.write(b"last")
        writes.close()
        assert transport.writes[-1] == b"last" and transport.closed
        assert writes.get_extra_info("peername") == "info peername"
        return transport

    assert len(asyncio.run(scenario()).writes) == 2


async def test_joined_writes_keep_their_order_and_count_in_the_buffer_size() -> None:
    import asyncio

    from triggerfish.adapters.cli import CoalescedWrites

    class Transport:
        def __init__(self) -> None:
            self.sent: list[bytes] = []

        def write(self, data: bytes) -> None:
            self.sent.append(data)

        def get_write_buffer_size(self) -> int:
            return 0

        def is_closing(self) -> bool:
            return False

    transport = Transport()
    joined = CoalescedWrites(transport, asyncio.get_running_loop())
    joined.write(b"head ")
    joined.writelines([b"body ", b"", b"tail"])
    assert transport.sent == [] and joined.get_write_buffer_size() == 14
    await asyncio.sleep(0)
    assert transport.sent == [b"head body tail"] and joined.get_write_buffer_size() == 0


def test_python_dash_m_runs_the_same_command_as_the_console_script() -> None:
    """`python -m triggerfish.adapters.cli` (the CLI is a package, adapters/cli/) lists every
    command group's commands, as `triggerfish --help` does."""
    module = subprocess.run(
        [sys.executable, "-m", "triggerfish.adapters.cli", "--help"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    script = triggerfish("--help")
    assert module.returncode == 0 and script.returncode == 0, module.stderr
    for command in ("dev", "send-event", "invoke", "runs", "run", "cancel", "cancel-event",
                    "retry", "init-table", "replay"):  # fmt: skip
        assert f"\n    {command} " in module.stdout or f"\n    {command}\n" in module.stdout
    assert module.stdout == script.stdout


def test_version_prints_the_package_version() -> None:
    from triggerfish.core import __version__

    done = subprocess.run([sys.executable, "-m", "triggerfish.adapters.cli", "--version"],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0
    assert done.stdout.startswith(f"triggerfish {__version__} (Python ")
