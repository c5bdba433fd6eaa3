"""Hostile input at the ASGI edge (issue 8, items 16-21): a clear 4xx, never a 500, and a
refused request leaves the store as it was."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sqlite3
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():  # starlette now prefers httpx2 for its TestClient; httpx works
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from support.live_server import load_live_jobs
from triggerfish.core import IO, Client, Context, SkippingClock, SQLiteStore, webhook_trigger

API_KEY = "hostile-key-0123456789"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
SECRET = b"s3cret"  # live_jobs.WEBHOOK_SECRET
DEEP = 1_000


class App:
    def __init__(self, tc: TestClient, client: Client, db: Path) -> None:
        self.tc, self.client, self.db = tc, client, db

    def counts(self) -> dict[str, int]:
        with sqlite3.connect(self.db) as conn:
            return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                    for t in ("runs", "tasks", "events")}

    def login(self, key: str = API_KEY) -> Any:
        return self.tc.post("/login", data={"api_key": key}, follow_redirects=False)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    from triggerfish.adapters.asgi import create_app

    db = tmp_path / "runs.db"
    client = Client("hostile", store=SQLiteStore(db), api_key=API_KEY, clock=SkippingClock())
    load_live_jobs().define_jobs(client)

    @client.define_job(id="hook-off", trigger=webhook_trigger("paused", secret="s3cret"),
                       enabled=False)
    async def hook_off(payload: Any, io: IO, ctx: Context) -> Any:
        return payload

    with TestClient(create_app(client), raise_server_exceptions=False) as tc:
        yield App(tc, client, db)
    client.store.close()


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _signed(body: bytes) -> dict[str, str]:
    return {"X-Signature": hmac.new(SECRET, body, hashlib.sha256).hexdigest()}


def _assert_error(response: Any, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] and error["message"]
    return error


# -- 16: deeply nested JSON ----------------------------------------------------------------


def test_deeply_nested_event_body_is_a_400_and_stores_nothing(app: App) -> None:
    body = b'{"name": "user.created", "payload": ' + _nested(DEEP) + b"}"
    error = _assert_error(app.tc.post("/api/events", content=body, headers=AUTH), 400)
    assert "deep" in error["message"]
    assert app.counts() == {"runs": 0, "tasks": 0, "events": 0}


def test_deeply_nested_invoke_body_is_a_400(app: App) -> None:
    body = b'{"payload": ' + _nested(DEEP) + b"}"
    _assert_error(app.tc.post("/api/jobs/flaky/invoke", content=body, headers=AUTH), 400)
    assert app.counts()["runs"] == 0


def test_deeply_nested_signed_webhook_is_a_400(app: App) -> None:
    body = _nested(DEEP)
    _assert_error(app.tc.post("/webhooks/github", content=body, headers=_signed(body)), 400)
    assert app.counts()["runs"] == 0


def test_moderately_nested_payload_is_still_accepted(app: App) -> None:
    body = b'{"payload": ' + _nested(50) + b"}"
    assert app.tc.post("/api/jobs/flaky/invoke", content=body, headers=AUTH).status_code == 202


# -- 17: event timestamps ------------------------------------------------------------------


@pytest.mark.parametrize("timestamp", [
    "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "1969-12-31T23:59:59Z",
])
def test_event_timestamp_out_of_range_is_a_422_naming_the_field(app: App, timestamp: str) -> None:
    body = {"name": "user.created", "payload": {"name": "a"}, "timestamp": timestamp}
    error = _assert_error(app.tc.post("/api/events", json=body, headers=AUTH), 422)
    assert error["fields"][0]["loc"] == ["body", "timestamp"]
    assert "1970" in error["message"] + str(error["fields"]) and "9999" in str(error["fields"])
    assert app.counts() == {"runs": 0, "tasks": 0, "events": 0}
    resent = app.tc.post("/api/events", json=body, headers=AUTH)
    assert resent.status_code == 422


def test_event_timestamp_at_the_edges_of_the_range_is_accepted(app: App) -> None:
    for stamp in ("1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2025-01-01T00:00:00+14:00"):
        body = {"name": "user.created", "payload": {"name": "a"}, "timestamp": stamp}
        response = app.tc.post("/api/events", json=body, headers=AUTH)
        assert response.status_code == 202, response.text
        (run_id,) = response.json()["run_ids"]
        assert app.tc.get(f"/api/runs/{run_id}", headers=AUTH).status_code == 200


def test_a_naive_event_timestamp_is_read_as_utc(app: App) -> None:
    body = {"name": "nobody", "timestamp": "2025-01-01T00:00:00"}
    response = app.tc.post("/api/events", json=body, headers=AUTH)
    assert response.status_code == 202, response.text
    assert response.json()["timestamp"].startswith("2025-01-01T00:00:00")


def test_reading_a_run_with_an_already_stored_bad_time_is_not_a_500() -> None:
    from triggerfish.core.models import utc

    assert utc(1e20).year == 9999 and utc(-1e20).year == 1
    assert utc(float("nan")).year == 1970


# -- 18: cursors ---------------------------------------------------------------------------


def _cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


HOSTILE_CURSORS = [
    _cursor(json.dumps({"created_at": 10**400, "id": "x"}).encode()),
    _cursor(json.dumps({"created_at": 10**30, "id": "x"}).encode()),
    _cursor(_nested(3_000)),
    "A" * 10_000,
    "%%%",
]


@pytest.mark.parametrize("cursor", HOSTILE_CURSORS, ids=range(len(HOSTILE_CURSORS)))
def test_api_crafted_cursor_is_a_4xx_naming_the_cursor(app: App, cursor: str) -> None:
    response = app.tc.get("/api/runs", params={"cursor": cursor}, headers=AUTH)
    error = _assert_error(response, 400, 422)
    assert "cursor" in error["message"]


@pytest.mark.parametrize("cursor", HOSTILE_CURSORS, ids=range(len(HOSTILE_CURSORS)))
def test_dashboard_crafted_cursor_is_a_400_page(app: App, cursor: str) -> None:
    assert app.login().status_code == 303
    response = app.tc.get("/jobs/greet", params={"cursor": cursor})
    assert response.status_code == 400, response.text[:200]
    assert "Traceback" not in response.text


# -- 20: disabled jobs -----------------------------------------------------------------------


def test_webhook_of_a_disabled_job_is_refused_like_invoke(app: App) -> None:
    invoked = app.tc.post("/api/jobs/off/invoke", json={}, headers=AUTH)
    assert invoked.status_code == 409
    body = b'{"ref": "main"}'
    error = _assert_error(app.tc.post("/webhooks/paused", content=body, headers=_signed(body)), 409)
    assert "disabled" in error["message"]
    assert app.counts()["runs"] == 0


def test_webhook_of_a_disabled_job_still_checks_the_signature_first(app: App) -> None:
    body = b'{"ref": "main"}'
    response = app.tc.post("/webhooks/paused", content=body, headers={"X-Signature": "00"})
    assert response.status_code == 401


# -- 21: paths, event ids, sessions, login throttling ----------------------------------------


@pytest.mark.parametrize("path", ["/api/%0Aruns", "/api/runs/a%0Ab", "/api/runs/x%0A/cancel",
                                  "/api/no-such-route", "/api"])
def test_every_path_under_api_needs_the_key_first(app: App, path: str) -> None:
    assert app.tc.get(path).status_code == 401
    assert app.tc.post(path).status_code == 401


@pytest.mark.parametrize("event_id", ["x" * 257, "a/b", "a b", "été", "a\nb", ""])
def test_event_id_out_of_the_id_rule_is_a_422_and_stores_nothing(app: App, event_id: str) -> None:
    body = {"name": "user.created", "payload": {"name": "a"}, "id": event_id}
    error = _assert_error(app.tc.post("/api/events", json=body, headers=AUTH), 422)
    assert error["fields"][0]["loc"] == ["body", "id"]
    assert app.counts() == {"runs": 0, "tasks": 0, "events": 0}


def test_event_id_within_the_rule_is_accepted(app: App) -> None:
    body = {"name": "nobody", "id": "order-42:created." + "x" * 100}
    assert app.tc.post("/api/events", json=body, headers=AUTH).status_code == 202


def test_logout_revokes_the_session_cookie(app: App) -> None:
    from triggerfish.adapters.asgi.sessions import SESSION_COOKIE

    assert app.login().status_code == 303
    cookie = app.tc.cookies.get(SESSION_COOKIE)
    assert cookie and app.tc.get("/", follow_redirects=False).status_code == 200
    page = app.tc.get("/").text
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert app.tc.post("/logout", data={"csrf_token": token},
                       follow_redirects=False).status_code == 303
    app.tc.cookies.clear()
    app.tc.cookies.set(SESSION_COOKIE, cookie)  # the stolen or kept cookie, replayed
    assert app.tc.get("/", follow_redirects=False).status_code == 303


def test_repeated_failed_logins_from_one_address_are_throttled(app: App) -> None:
    statuses = [app.login("wrong").status_code for _ in range(8)]
    assert statuses[:5] == [401] * 5, statuses
    assert statuses[-1] == 429, statuses
    throttled = app.login()  # even the right key waits out the backoff
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) >= 1
    assert isinstance(app.client.clock, SkippingClock)
    app.client.clock.advance(3600)
    assert app.login().status_code == 303
    assert app.login("wrong").status_code == 401  # a success starts the count again
