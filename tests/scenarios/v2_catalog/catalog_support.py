"""Helpers for the ported v2 catalog: a dispatcher that only records, a loop that runs every
dispatched run in time order on a SkippingClock, uvicorn on a chosen port, a request bin."""

from __future__ import annotations

import heapq
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any, Self

import httpx
import uvicorn
from support.http_target import serving
from triggerfish.core import Client, SkippingClock

API_KEY = "catalog-key-0123456789"


class RecordingDispatcher:
    """Keeps every "run R again at T" (from any thread) for `settle` to act on, in order."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: list[tuple[float, int, str]] = []
        self.count = 0

    async def dispatch(self, run_id: str, at: float) -> None:
        self.push(run_id, at)

    def push(self, run_id: str, at: float) -> None:
        with self.lock:
            self.count += 1
            heapq.heappush(self.pending, (at, self.count, run_id))

    def pop(self) -> tuple[float, str] | None:
        with self.lock:
            if not self.pending:
                return None
            at, _, run_id = heapq.heappop(self.pending)
            return at, run_id


async def settle(client: Client, *, until: float | None = None, max_steps: int = 3000) -> None:
    """Runs every dispatched run, earliest hint first, skipping the clock to each hint;
    then, given `until` (clock seconds), skips there and ticks (delayed events, due runs)."""
    dispatcher = client.dispatcher
    if not isinstance(dispatcher, RecordingDispatcher) or not isinstance(
        client.clock, SkippingClock
    ):
        raise TypeError("settle needs a RecordingDispatcher and a SkippingClock")
    for _ in range(max_steps):
        hint = dispatcher.pop()
        if hint is None:
            if until is not None and client.clock.time() < until:
                client.clock.advance_to(until)
                await client.tick()
                continue
            await client.tick()
            if dispatcher.pending:
                continue
            return
        at, run_id = hint
        if until is not None and at > until:
            dispatcher.push(run_id, at)
            client.clock.advance_to(until)
            await client.tick()
            until = None
            if dispatcher.pending and dispatcher.pending[0][0] > client.clock.time():
                return
            continue
        client.clock.advance_to(at)
        outcome = await client.execute(run_id)
        if outcome.resume_at is not None and not outcome.status.is_final:
            dispatcher.push(run_id, outcome.resume_at)
    raise RuntimeError(f"runs did not settle in {max_steps} steps")


def make_catalog_client(store: Any, **options: Any) -> Client:
    """The catalog's client (v2: ``new TriggerClient({id: "job-catalog", ...})``)."""
    options.setdefault("clock", SkippingClock())
    options.setdefault("dispatcher", RecordingDispatcher())
    return Client("job-catalog", store=store, api_key=API_KEY, **options)


class Server:
    """The ASGI app (or any app) under uvicorn in a thread, on a port chosen beforehand."""

    def __init__(self, app: Any, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        for _ in range(400):
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            threading.Event().wait(0.05)
        raise TimeoutError(f"{self.url}/health never answered")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@contextmanager
def serve_app(client: Client, port: int) -> Iterator[Server]:
    from triggerfish.adapters.asgi import create_app

    with Server(create_app(client), port) as server:
        yield server


@contextmanager
def request_bin(answer: Any = None) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A loopback HTTP server keeping each request (path, headers, JSON body); it answers
    `answer` as JSON, or calls it with the request to get the answer."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self._keep()

        def do_GET(self) -> None:
            self._keep()

        def _keep(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            request = {"method": self.command, "path": self.path,
                       "headers": {k.lower(): v for k, v in self.headers.items()},
                       "json": json.loads(raw) if raw else None}  # fmt: skip
            received.append(request)
            body = answer(request) if callable(answer) else answer
            data = json.dumps(body if body is not None else {"ok": True}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return

    with serving(Handler) as url:
        yield url, received
