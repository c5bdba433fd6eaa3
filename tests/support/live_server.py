"""Live-server helpers shared by the adapter and scenario tests: uvicorn in a thread.

A module of its own (not `from conftest import ...`): several conftest.py files share that
module name, and which one `conftest` means depends on collection order.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from pathlib import Path
from typing import Any, Self

import httpx
import uvicorn

from support.servers import free_port

ADAPTER_TESTS = Path(__file__).resolve().parents[1] / "adapters"
API_KEY = "test-key-0123456789"


def load_live_jobs() -> Any:
    """tests/adapters/live_jobs.py as a module (by path: `adapters` is the repo's folder)."""
    spec = importlib.util.spec_from_file_location("triggerfish_live_jobs", ADAPTER_TESTS / "live_jobs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def wait_for_health(url: str, *, timeout_seconds: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url}/health did not answer 200 within {timeout_seconds} s")


class ThreadedServer:
    """uvicorn serving `app` from a thread; `url` once it answers ``health_path``."""

    def __init__(self, app: Any, *, health_path: str = "/health") -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"
        self.health_path = health_path

    def __enter__(self) -> Self:
        self.thread.start()
        wait_for_health(self.url + self.health_path.removesuffix("/health"))
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
