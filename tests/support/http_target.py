"""A small HTTP server on loopback for background fetches and HTTP integrations.

Any path answers JSON ``{"path", "method", "sent"}``, but: /flaky (503 once); /echo...
(JSON with the request's headers and body as base64 too); /bytes (every byte value,
application/octet-stream); /text (text/plain, UTF-8); /status/NNN (that status).
"""

from __future__ import annotations

import base64
import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BINARY = bytes(range(256))
"""What /bytes answers: every byte value once."""


@contextmanager
def http_target() -> Iterator[tuple[str, Counter[str]]]:
    """Yields the server's base URL and a counter of requests per path."""
    hits: Counter[str] = Counter()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def do_PUT(self) -> None:
            self._answer()

        def do_PATCH(self) -> None:
            self._answer()

        def do_DELETE(self) -> None:
            self._answer()

        def _answer(self) -> None:
            hits[self.path] += 1
            length = int(self.headers.get("Content-Length") or 0)
            received = self.rfile.read(length) if length else b""
            sent = received.decode(errors="replace")
            content_type = "application/json"
            if self.path == "/flaky" and hits[self.path] == 1:
                status, body = 503, {"error": "try later"}
            elif self.path.startswith("/echo"):
                status, body = 200, {
                    "path": self.path, "method": self.command, "sent": sent,
                    "sent_base64": base64.b64encode(received).decode(),
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                }  # fmt: skip
            elif self.path.startswith("/status/"):
                status, body = int(self.path.rsplit("/", 1)[1]), {"error": "as asked"}
            else:
                status, body = 200, {"path": self.path, "method": self.command, "sent": sent}
            raw = json.dumps(body).encode()
            if self.path == "/bytes":
                raw, content_type = BINARY, "application/octet-stream"
            elif self.path == "/text":
                raw, content_type = "héllo wörld".encode(), "text/plain; charset=utf-8"
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: object) -> None:
            return

    with serving(Handler) as url:
        yield url, hits


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """`handler` on a free loopback port, in a thread; yields the server's URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
