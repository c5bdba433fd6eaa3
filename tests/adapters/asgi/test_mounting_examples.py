"""examples/fastapi_app.py and examples/django_project/ (issue 20, item 4): each mounts the
API and dashboard under ``/jobs``, sends events from its own views, and runs them.

Each is served by uvicorn in a subprocess, as its docstring says to, on a SQLite file.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from starlette.exceptions import StarletteDeprecationWarning
from support.servers import free_port
from triggerfish.adapters.asgi import client_dependency
from triggerfish.core import Client, ConfigError, SQLiteStore

ROOT = Path(__file__).resolve().parents[3]
API_KEY = "examples-key-0123456789"
HEADERS = {"Authorization": f"Bearer {API_KEY}"}


@contextmanager
def uvicorn_serving(target: str, *, cwd: Path, db_path: Path) -> Iterator[str]:
    """``uvicorn target`` on a free port until the mounted app answers /jobs/health."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIGGERFISH_", "DJANGO_"))}
    env.update(TRIGGERFISH_API_KEY=API_KEY, TRIGGERFISH_DB=str(db_path),
               PYTHONPATH=str(cwd))  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port)],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/jobs/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{target} did not start: {process.communicate()[0]}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.communicate(timeout=15)


def wait_completed(base: str, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        run: dict[str, Any] = httpx.get(f"{base}/jobs/api/runs/{run_id}", headers=HEADERS).json()
        if run["status"] == "COMPLETED" or time.monotonic() > deadline:
            return run
        time.sleep(0.05)


def assert_dashboard_under_jobs(base: str) -> None:
    login = httpx.get(f"{base}/jobs/login")
    assert login.status_code == 200 and 'name="api_key"' in login.text
    assert 'action="/jobs/login"' in login.text


def test_the_fastapi_example_sends_an_event_from_its_route_and_runs_it(tmp_path: Path) -> None:
    with uvicorn_serving("examples.fastapi_app:app", cwd=ROOT, db_path=tmp_path / "f.db") as base:
        assert httpx.get(f"{base}/").json() == {"app": "shop", "jobs": "/jobs/"}
        answer = httpx.post(f"{base}/signup", json={"email": "ada@example.com", "name": "Ada"})
        assert answer.status_code == 202, answer.text
        assert answer.json()["event_id"] == "signup-ada@example.com"
        run = wait_completed(base, answer.json()["run_ids"][0])
        assert run["status"] == "COMPLETED" and run["output"] == {"mail": "mail to ada@example.com"}
        assert httpx.get(f"{base}/jobs/api/jobs", headers=HEADERS).status_code == 200
        assert httpx.get(f"{base}/jobs/api/jobs").status_code == 401
        assert_dashboard_under_jobs(base)


def test_the_django_example_sends_an_event_from_its_view_and_runs_it(tmp_path: Path) -> None:
    pytest.importorskip("django")
    project = ROOT / "examples" / "django_project"
    with uvicorn_serving("djangoshop.asgi:application", cwd=project,
                         db_path=tmp_path / "d.db") as base:  # fmt: skip
        assert httpx.get(f"{base}/").json() == {"app": "django-shop", "jobs": "/jobs/"}
        order = {"order": "o-7", "items": [{"price": 3}, {"price": 4}]}
        answer = httpx.post(f"{base}/orders/", json=order)
        assert answer.status_code == 202, answer.text
        run = wait_completed(base, answer.json()["run_ids"][0])
        assert run["status"] == "COMPLETED" and run["output"] == {"order": "o-7", "total": 7}
        assert [line["message"] for line in run["logs"]] == ["receipt sent"]
        assert httpx.get(f"{base}/orders/").status_code == 405  # Django's own routing
        assert_dashboard_under_jobs(base)


def test_client_dependency_hands_the_client_to_routes_and_tests_can_override_it(
    tmp_path: Path,
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StarletteDeprecationWarning)
        from starlette.testclient import TestClient

    real = Client("real", store=SQLiteStore(tmp_path / "real.db"))
    other = Client("other", store=SQLiteStore(tmp_path / "other.db"))
    get_jobs = client_dependency(real)
    app = FastAPI()

    @app.get("/which")
    def which(jobs: Client = Depends(get_jobs)) -> dict[str, str]:  # noqa: B008 - a local
        return {"client": jobs.id}

    with TestClient(app) as http:
        assert http.get("/which").json() == {"client": "real"}
        app.dependency_overrides[get_jobs] = lambda: other
        assert http.get("/which").json() == {"client": "other"}
    assert "/which" in app.openapi()["paths"] and not app.openapi()["paths"]["/which"]["get"].get(
        "parameters")  # the dependency adds no query parameter
    with pytest.raises(ConfigError, match="client_dependency needs a Client"):
        client_dependency("real")  # type: ignore[arg-type]
    real.store.close()
    other.store.close()
