"""Bad input at the edges of the ASGI app and the CLI: ids, signatures, cursors, odd JSON.

Each test was first written as a failing proof of a bug found in review.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.util
import json
import sqlite3
import sys
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.exceptions import StarletteDeprecationWarning
from starlette.responses import HTMLResponse
from starlette.routing import Route

with warnings.catch_warnings():  # starlette now prefers httpx2 for its TestClient; httpx works
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from triggerfish.core import Client, SQLiteStore

HERE = Path(__file__).resolve().parent
API_KEY = "review-key-0123456789"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
SECRET = b"s3cret"  # live_jobs.WEBHOOK_SECRET


def _live_jobs() -> Any:
    spec = importlib.util.spec_from_file_location("review_live_jobs", HERE / "live_jobs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("runs", "tasks", "events")}


class App:
    def __init__(self, tc: TestClient, client: Client, db: Path) -> None:
        self.tc, self.client, self.db = tc, client, db

    def counts(self) -> dict[str, int]:
        return _counts(self.db)

    def login(self) -> None:
        response = self.tc.post("/login", data={"api_key": API_KEY}, follow_redirects=False)
        assert response.status_code == 303


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    from triggerfish.adapters.asgi import create_app

    db = tmp_path / "runs.db"
    client = Client("review", store=SQLiteStore(db), api_key=API_KEY)
    _live_jobs().define_jobs(client)
    with TestClient(create_app(client), raise_server_exceptions=False) as tc:
        yield App(tc, client, db)
    client.store.close()


# -- invoke ids: validated before the store is touched, and usable in URLs ---------------


def test_invoke_id_with_a_slash_is_refused_and_leaves_nothing(app: App) -> None:
    """docs/api.md: 'Each route reads and validates its whole input before it touches the
    store, so a refused request leaves nothing behind.' An id with '/' is stored, then
    url_for('api:get_run') asserts -> 500, and the run can never be fetched by its URL."""
    response = app.tc.post("/api/jobs/flaky/invoke", json={"payload": 1, "id": "a/b"},
                           headers=AUTH)
    assert response.status_code == 422, response.text
    assert app.counts()["runs"] == 0


def test_invoke_id_with_a_slash_does_not_break_the_jobs_dashboard_page(app: App) -> None:
    app.tc.post("/api/jobs/flaky/invoke", json={"payload": 1, "id": "x/y"}, headers=AUTH)
    app.login()
    response = app.tc.get("/jobs/flaky")
    assert response.status_code == 200, response.text[:200]


def test_invoke_id_with_non_ascii_text_is_not_a_500_after_the_run_is_stored(app: App) -> None:
    response = app.tc.post("/api/jobs/flaky/invoke", json={"payload": 1, "id": "été"},
                           headers=AUTH)
    assert response.status_code != 500, "run stored, then the Location header crashed"
    if response.status_code >= 400:
        assert app.counts()["runs"] == 0


@pytest.mark.parametrize("run_id", ["a?b", "a#b", "a b"])
def test_invoke_location_header_leads_to_the_run(app: App, run_id: str) -> None:
    """docs/api.md: 202 'and a Location header with the run's URL' (not percent-encoded)."""
    response = app.tc.post("/api/jobs/flaky/invoke", json={"payload": 1, "id": run_id},
                           headers=AUTH)
    assert response.status_code in (202, 422), response.text
    if response.status_code == 202:
        fetched = app.tc.get(response.headers["location"], headers=AUTH)
        assert fetched.status_code == 200 and fetched.json()["id"] == run_id, fetched.text


def test_invoke_with_the_id_of_another_jobs_run_does_not_answer_that_run(app: App) -> None:
    """POST /api/jobs/greet/invoke answered 202 with a run of job 'flaky' (and started nothing)."""
    first = app.tc.post("/api/jobs/flaky/invoke", json={"payload": 1, "id": "shared-id"},
                        headers=AUTH)
    assert first.status_code == 202
    second = app.tc.post("/api/jobs/greet/invoke",
                         json={"payload": {"name": "z"}, "id": "shared-id"}, headers=AUTH)
    assert second.status_code == 409 or second.json()["job_id"] == "greet", second.text


# -- webhooks --------------------------------------------------------------------------


def test_webhook_with_a_non_ascii_signature_is_a_401_not_a_500(app: App) -> None:
    """A wrong signature gets 401 invalid_signature (docs/api.md); hmac.compare_digest on a
    str with non-ASCII characters raises TypeError (core/triggers.py:94) -> 500."""
    body = b'{"ref": "main"}'
    response = app.tc.post("/webhooks/github", content=body,
                           headers={"X-Hub-Signature-256": "sha256=\u00e9".encode("latin-1")})
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "invalid_signature"
    assert app.counts()["runs"] == 0


def test_webhook_plain_hex_signature_still_accepted(app: App) -> None:
    body = b'{"ref": "main"}'
    signature = hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    response = app.tc.post("/webhooks/github", content=body, headers={"X-Signature": signature})
    assert response.status_code == 202, response.text


# -- bad input is a 4xx, never a 500 ------------------------------------------------------


def _cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def test_api_cursor_with_wrong_types_is_a_422(app: App) -> None:
    cursor = _cursor({"created_at": [1], "id": {}})
    response = app.tc.get("/api/runs", params={"cursor": cursor}, headers=AUTH)
    assert response.status_code == 422, response.text


def test_dashboard_job_page_with_a_tampered_cursor_is_a_400_page(app: App) -> None:
    app.login()
    response = app.tc.get("/jobs/greet", params={"cursor": _cursor({"x": 1})})
    assert response.status_code == 400, response.text[:200]


def test_payload_with_a_lone_surrogate_is_a_4xx_and_stores_nothing(app: App) -> None:
    body = b'{"name": "user.created", "payload": {"name": "\\ud800"}}'
    response = app.tc.post("/api/events", content=body,
                           headers={**AUTH, "Content-Type": "application/json"})
    assert 400 <= response.status_code < 500, response.text
    assert app.counts() == {"runs": 0, "tasks": 0, "events": 0}


def test_non_finite_number_payload_is_a_422_with_fields(app: App) -> None:
    """docs/api.md: 422 validation_error carries `fields` (loc starting with 'body')."""
    body = b'{"name": "user.created", "payload": {"name": "a", "n": NaN}}'
    response = app.tc.post("/api/events", content=body, headers=AUTH)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["fields"] and error["fields"][0]["loc"][0] == "body", error


# -- CLI: one error line, exit 1, no traceback ----------------------------------------------


def test_cli_dev_with_a_module_that_fails_to_import_prints_one_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/cli.md: 'Every failure prints one `error: ...` line to stderr and exits 1 ...
    no tracebacks.' A module raising anything but ImportError escapes main()."""
    from triggerfish.adapters import cli

    name = f"review_broken_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text("raise RuntimeError('boom at import')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        status = cli.main(["dev", f"{name}:client", "--port", "1"])
    finally:
        sys.modules.pop(name, None)
    assert status == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "boom" in err[0], err


def test_cli_against_a_server_answering_200_html_prints_one_error_line(
    serve: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """--url pointing at something that is not the API (a proxy login page, a mounted
    app's parent) answers 200 HTML: `_request` returns None and `_runs` raises TypeError."""
    from triggerfish.adapters import cli

    async def page(request: Any) -> HTMLResponse:
        return HTMLResponse("<html>sign in</html>")

    other = Starlette(routes=[Route("/{path:path}", page)])
    with serve(other) as server:
        status = cli.main(["runs", "--url", server.url, "--api-key", "k"])
    assert status == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:"), err
