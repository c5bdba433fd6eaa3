"""A local Lambda Runtime API, so tests run handlers under the real runtime client.

AWS's runtime interface client (`python -m awslambdaric module.handler`, the same code
Lambda's Python images run) asks the Runtime API for its next event over HTTP, calls the
handler with a real `LambdaContext`, and posts the answer back. No packaged emulator is
available here (TOOLING.md), so this module implements the four endpoints it uses:

    GET  /2018-06-01/runtime/invocation/next          blocks until `invoke()` queues an event
    POST /2018-06-01/runtime/invocation/{id}/response the handler's return value
    POST /2018-06-01/runtime/invocation/{id}/error    the handler raised
    POST /2018-06-01/runtime/init/error               importing the handler failed

As on Lambda, an invocation's deadline (header Lambda-Runtime-Deadline-Ms) starts when the
runtime takes the event, so a slow cold start does not eat into the function's timeout,
and an answer posted after the deadline counts as a timeout.

    with RuntimeAPI() as api, RuntimeProcess(api, "echo_handler.handler", path=[HERE]):
        ok, body = api.invoke({"hello": "world"}, timeout_ms=3000)
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

API_PREFIX = "/2018-06-01/runtime"
DEFAULT_FUNCTION_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:triggerfish-test-worker"
# Lambda gives a function's init phase 10 s before it fails the invocation.
INIT_TIMEOUT_SECONDS = 10.0
# Time allowed after the deadline for an answer already on its way over loopback HTTP.
POST_SLACK_SECONDS = 0.5
TIMED_OUT_ERROR_TYPE = "Sandbox.Timedout"
_RESPONSE_PATH = re.compile(rf"^{API_PREFIX}/invocation/([^/]+)/(response|error)$")


@dataclass
class Invocation:
    """One event handed to the runtime and what came back."""

    request_id: str
    event: Any
    timeout_ms: int
    trace_id: str = field(
        default_factory=lambda: f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
    )
    deadline_ms: int | None = None
    ok: bool | None = None
    body: Any = None
    error_type: str | None = None
    answered_at_ms: int | None = None
    taken: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)


class RuntimeAPI:
    """A threaded HTTP server on 127.0.0.1 (a free port) speaking the Lambda Runtime API."""

    def __init__(self, *, function_arn: str = DEFAULT_FUNCTION_ARN) -> None:
        self.function_arn = function_arn
        self.invocations: dict[str, Invocation] = {}
        self.init_errors: list[dict[str, Any]] = []
        self._pending: queue.Queue[Invocation] = queue.Queue()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _QuietServer(("127.0.0.1", 0), _make_handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        """``host:port``, the value of AWS_LAMBDA_RUNTIME_API."""
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def start(self) -> Self:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; a runtime blocked on `next` sees its connection close."""
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def invoke(self, event: Any, timeout_ms: int = 3000) -> tuple[bool, Any]:
        """Queue `event`, wait for the runtime's answer, return ``(ok, body)``.

        ``ok`` is False for a handler error, an init error, or an answer after the
        deadline (body ``{"errorType": "Sandbox.Timedout", ...}``), as Lambda reports them.
        Raises TimeoutError when no runtime takes the event within the init timeout or
        the runtime never answers.
        """
        invocation = Invocation(request_id=str(uuid.uuid4()), event=event, timeout_ms=timeout_ms)
        with self._lock:
            self.invocations[invocation.request_id] = invocation
            if self.init_errors:
                self._fail_with_init_error(invocation, self.init_errors[-1])
                return False, invocation.body
            self._pending.put(invocation)
        if not invocation.taken.wait(INIT_TIMEOUT_SECONDS):
            raise TimeoutError(f"no runtime asked for the next event in {INIT_TIMEOUT_SECONDS} s")
        if not invocation.done.wait(timeout_ms / 1000 + POST_SLACK_SECONDS + 5.0):
            raise TimeoutError(f"the runtime never answered request {invocation.request_id}")
        late = invocation.deadline_ms is not None and (
            (invocation.answered_at_ms or 0) > invocation.deadline_ms + POST_SLACK_SECONDS * 1000
        )
        if late:
            return False, {
                "errorType": TIMED_OUT_ERROR_TYPE,
                "errorMessage": f"Task timed out after {timeout_ms / 1000:.2f} seconds",
            }
        return bool(invocation.ok), invocation.body

    # -- called by the HTTP handler -------------------------------------------------

    def _next(self) -> Invocation | None:
        """Block until an event is queued; None once the server stops."""
        while not self._stopping.is_set():
            try:
                invocation = self._pending.get(timeout=0.1)
            except queue.Empty:
                continue
            invocation.deadline_ms = int(time.time() * 1000) + invocation.timeout_ms
            invocation.taken.set()
            return invocation
        return None

    def _answer(self, request_id: str, ok: bool, body: Any, error_type: str | None) -> bool:
        invocation = self.invocations.get(request_id)
        if invocation is None or invocation.done.is_set():
            return False
        if not ok and error_type is None and isinstance(body, dict):
            error_type = body.get("errorType")  # the C client sends no error-type header
        invocation.ok, invocation.body, invocation.error_type = ok, body, error_type
        invocation.answered_at_ms = int(time.time() * 1000)
        invocation.done.set()
        return True

    def _init_error(self, body: dict[str, Any]) -> None:
        """Fail every queued invocation, as Lambda fails the invoke that hit the bad init."""
        with self._lock:
            self.init_errors.append(body)
            while not self._pending.empty():
                self._fail_with_init_error(self._pending.get_nowait(), body)

    def _fail_with_init_error(self, invocation: Invocation, body: dict[str, Any]) -> None:
        invocation.ok, invocation.body = False, body
        invocation.error_type = body.get("errorType")
        invocation.taken.set()
        invocation.done.set()


class _QuietServer(ThreadingHTTPServer):
    """Treats a runtime that hangs up (stopped while waiting on `next`) as normal."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


def _make_handler(api: RuntimeAPI) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            if self.path != f"{API_PREFIX}/invocation/next":
                self._reply(404, {"errorType": "NotFound", "errorMessage": self.path})
                return
            invocation = api._next()
            if invocation is None:
                self._reply(500, {"errorType": "ServiceStopping", "errorMessage": "stopped"})
                return
            headers = {
                "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": api.function_arn,
                "Lambda-Runtime-Trace-Id": invocation.trace_id,
            }
            self._reply(200, invocation.event, headers)

        def do_POST(self) -> None:
            body = self._read_json()
            if self.path == f"{API_PREFIX}/init/error":
                api._init_error(body if isinstance(body, dict) else {"errorMessage": body})
                self._reply(202, {"status": "OK"})
                return
            match = _RESPONSE_PATH.match(self.path)
            if match is None:
                self._reply(404, {"errorType": "NotFound", "errorMessage": self.path})
                return
            request_id, kind = match.groups()
            error_type = self.headers.get("Lambda-Runtime-Function-Error-Type")
            if api._answer(request_id, kind == "response", body, error_type):
                self._reply(202, {"status": "OK"})
            else:
                message = f"unknown or already answered request id {request_id}"
                self._reply(400, {"errorType": "InvalidRequestID", "errorMessage": message})

        def _read_json(self) -> Any:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                return json.loads(raw) if raw else None
            except ValueError:
                return raw.decode("utf-8", "replace")

        def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Stay quiet: the runtime's own output is what a failing test shows."""

    return _Handler


class RuntimeProcess:
    """`python -m awslambdaric HANDLER` against a `RuntimeAPI`, as Lambda starts it.

    `path` folders go on PYTHONPATH (Lambda's task root); `env` adds variables; `python`
    is the interpreter (one with awslambdaric importable). Output goes to a temporary
    file that `output()` reads, for assertion messages.
    """

    def __init__(
        self,
        api: RuntimeAPI,
        handler: str,
        *,
        path: list[Path] | None = None,
        env: dict[str, str] | None = None,
        function_name: str = "triggerfish-test-worker",
        python: str = sys.executable,
    ) -> None:
        self.api = api
        self.handler = handler
        self.python = python
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by __exit__)
        folders = [str(folder) for folder in path or []]
        self.environ = {
            **os.environ,
            "AWS_LAMBDA_RUNTIME_API": api.address,
            "AWS_LAMBDA_FUNCTION_NAME": function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "2024/11/26/[$LATEST]0123456789abcdef",
            "PYTHONPATH": os.pathsep.join([*folders, os.environ.get("PYTHONPATH", "")]),
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Self:
        """Start the runtime; it imports the handler and asks for the next event."""
        self.process = subprocess.Popen(
            [self.python, "-m", "awslambdaric", self.handler],
            env=self.environ,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        return self

    def stop(self) -> None:
        """Terminate the runtime (it waits on `next` forever otherwise)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def output(self) -> str:
        """Everything the runtime printed so far."""
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
        self._log.close()
