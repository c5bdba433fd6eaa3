"""Real servers for tests: moto's HTTP server and dynalite, each on a free loopback port.

Under CI=true a server that cannot start is a failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def is_ci() -> bool:
    """True on CI, where a missing server fails the test instead of skipping it."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> None:
    """Fails under CI, skips elsewhere."""
    if is_ci():
        pytest.fail(f"{reason} (CI=true: a missing server is a failure)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, *, timeout_seconds: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_seconds} s")


def serialize_moto_dynamodb() -> None:
    """Makes moto's DynamoDB answer one request at a time, so its conditional writes are atomic.

    moto 5 (DynamoDBBackend.update_item, put_item, ...) reads the item, evaluates the
    ConditionExpression and then writes, with no lock, on a threaded server: two concurrent
    conditional writes on one item can both succeed, which DynamoDB never allows. Leases
    taken twice that way were the campaign's duplicate executions (issue 8).
    """
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler, "_triggerfish_serialized", False):
        return
    lock = threading.RLock()
    unserialized = DynamoHandler.call_action

    def call_action(self: DynamoHandler) -> object:
        with lock:
            return unserialized(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign,assignment]
    DynamoHandler._triggerfish_serialized = True  # type: ignore[attr-defined]


@contextmanager
def moto_server() -> Iterator[str]:
    """moto in server mode (DynamoDB, SQS, S3 over HTTP); yields its URL."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        unavailable("moto[server] is not installed")
    import logging

    serialize_moto_dynamodb()

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    wait_for_port(port)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def dynalite_command() -> list[str] | None:
    local = ROOT / "node_modules" / ".bin" / "dynalite"
    if local.exists():
        return [str(local)]
    found = shutil.which("dynalite")
    return [found] if found else None


@contextmanager
def dynalite_server() -> Iterator[str]:
    """dynalite (an independent DynamoDB from npm); yields its URL."""
    command = dynalite_command()
    if command is None:
        unavailable("dynalite is not installed (npm install, see package.json)")
        raise AssertionError("unreachable")
    port = free_port()
    process = subprocess.Popen(
        [
            *command,
            "--host", "127.0.0.1", "--port", str(port),
            "--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port)
    except TimeoutError:
        process.kill()
        unavailable(f"dynalite did not start: {process.stderr.read()[:500]!r}")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
        if process.stderr:
            process.stderr.close()
