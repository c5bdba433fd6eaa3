"""Connections over a real uvicorn server: ``PUT /api/connections/{name}``, the
``triggerfish set-connection`` command and the dashboard's form each store a connection and
wake the run waiting on it, which then completes; nothing polls it before (issue 16 item 11).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from triggerfish.adapters.asgi import create_app
from triggerfish.core import IO, Client, Context, invoke_trigger
from triggerfish.core.integrations import Integration
from triggerfish.core.sealing import new_key

API_KEY = "connections-test-key"
SECRET = "ghp_from-the-outside-0123"
TRIGGERFISH = Path(sys.executable).with_name("triggerfish")


class GitHub(Integration):
    """Builds its SDK client (here a header) from the stored credentials."""

    def __init__(self, *, connection: str) -> None:
        self.connection = connection
        self.header: str | None = None

    def with_auth(self, credentials: Any) -> GitHub:
        authed = GitHub(connection=self.connection)
        authed.header = f"token {credentials['token']}"
        return authed


def github_client(store: Any, **options: Any) -> Client:
    options.setdefault("connection_key", new_key())
    client = Client("conn", store=store, api_key=API_KEY, **options)

    @client.define_job(id="stars", trigger=invoke_trigger(),
                       integrations={"github": GitHub(connection="github")})  # fmt: skip
    async def stars(payload: Any, io: IO, ctx: Context) -> Any:
        return {"header": io.integrations["github"].client.header}

    return client


class Site:
    """The server's URL, its client and an httpx client with the API key."""

    def __init__(self, url: str, client: Client) -> None:
        self.url = url
        self.client = client
        self.api = httpx.Client(base_url=url, timeout=10.0,
                                headers={"Authorization": f"Bearer {API_KEY}"})  # fmt: skip

    def invoke_waiting(self) -> str:
        """A run of `stars` that has reached WAITING_ON_CONNECTIONS."""
        answer = self.api.post("/api/jobs/stars/invoke", json={"payload": None})
        assert answer.status_code == 202, answer.text
        run_id: str = answer.json()["id"]
        self.wait_for(run_id, "WAITING_ON_CONNECTIONS")
        return run_id

    def wait_for(self, run_id: str, status: str, timeout_seconds: float = 15.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_seconds
        while True:
            run: dict[str, Any] = self.api.get(f"/api/runs/{run_id}").json()
            if run["status"] == status:
                return run
            assert time.monotonic() < deadline, f"run {run_id} never became {status}: {run}"
            time.sleep(0.05)

    def assert_not_polled(self, run_id: str) -> None:
        """Not due at any time, and invoked once: nothing will run it again by itself."""
        far = time.time() + 365 * 24 * 3600
        assert run_id not in self.client.store.list_due_runs(now=far, limit=1000)
        assert self.api.get(f"/api/runs/{run_id}").json()["invocation_count"] == 1

    def assert_completed_once_woken(self, run_id: str) -> None:
        run = self.wait_for(run_id, "COMPLETED")
        assert run["output"] == {"header": f"token {SECRET}"}
        assert run["invocation_count"] == 2 and run["error"] is None


@pytest.fixture
def site(sqlite_or_moto_store: Any, serve: Any) -> Iterator[Site]:
    client = github_client(sqlite_or_moto_store)
    with serve(create_app(client)) as server:
        yield Site(server.url, client)


def test_put_connection_stores_it_sealed_and_wakes_the_waiting_run(site: Site) -> None:
    run_id = site.invoke_waiting()
    site.assert_not_polled(run_id)
    listed = site.api.get("/api/connections").json()["connections"]
    assert listed == [{"name": "github", "set": False, "updated_at": None,
                       "integrations": ["stars/github"]}]  # fmt: skip

    answer = site.api.put("/api/connections/github", json={"credentials": {"token": SECRET}})

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"name": "github", "set": True, "woken_run_ids": [run_id]}
    site.assert_completed_once_woken(run_id)
    listing = site.api.get("/api/connections")
    assert listing.json()["connections"][0]["set"] is True
    assert SECRET not in listing.text
    assert SECRET not in site.client.store.get_connection("github").sealed


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/connections/has%20space", {"credentials": "x"}, "name"),
        ("/api/connections/github", {"token": "x"}, "token"),
        ("/api/connections/github", {"credentials": None}, "credentials"),
        ("/api/connections/github", {"credentials": "x" * 70_000}, "credentials"),
    ],
)
def test_a_bad_connection_is_a_422_naming_the_field_and_stores_nothing(
    site: Site, path: str, body: Any, field: str
) -> None:
    answer = site.api.put(path, json=body)
    assert answer.status_code == 422, answer.text
    assert field in answer.text
    assert site.client.store.list_connections() == []


def test_put_connection_needs_the_api_key(site: Site) -> None:
    answer = httpx.put(f"{site.url}/api/connections/github", json={"credentials": "x"})
    assert answer.status_code == 401
    assert site.client.store.list_connections() == []


def test_a_server_without_a_connection_key_answers_409_naming_the_setting(
    sqlite_or_moto_store: Any, serve: Any
) -> None:
    client = github_client(sqlite_or_moto_store, connection_key=None)
    with serve(create_app(client)) as server:
        answer = httpx.put(f"{server.url}/api/connections/github", json={"credentials": "x"},
                           headers={"Authorization": f"Bearer {API_KEY}"})  # fmt: skip
    assert answer.status_code == 409
    assert "TRIGGERFISH_CONNECTION_KEY" in answer.json()["error"]["message"]
    assert sqlite_or_moto_store.list_connections() == []


def triggerfish(*args: str, url: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIGGERFISH_")}
    env.update(TRIGGERFISH_URL=url, TRIGGERFISH_API_KEY=API_KEY)
    return subprocess.run([str(TRIGGERFISH), *args], env=env, input=stdin, capture_output=True,
                          text=True, timeout=30, check=False)  # fmt: skip


def test_the_cli_sets_a_connection_from_stdin_and_the_run_resumes(site: Site) -> None:
    run_id = site.invoke_waiting()
    site.assert_not_polled(run_id)
    listed = triggerfish("connections", url=site.url)
    assert listed.returncode == 0, listed.stderr
    assert re.search(r"github\s+NOT SET\s+stars/github", listed.stdout)

    result = triggerfish("set-connection", "github", url=site.url, stdin=f'{{"token": "{SECRET}"}}')

    assert result.returncode == 0, result.stderr
    assert "connection github: set; 1 waiting run(s) woken" in result.stdout
    assert run_id in result.stdout and SECRET not in result.stdout
    site.assert_completed_once_woken(run_id)
    assert re.search(r"github\s+set\s", triggerfish("connections", url=site.url).stdout)


def test_the_cli_reports_a_refused_connection_as_one_error_line(site: Site) -> None:
    result = triggerfish("set-connection", "has space", "tok", url=site.url)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: 422") and "name" in result.stderr


def test_the_dashboard_form_sets_a_connection_and_never_shows_it(site: Site) -> None:
    run_id = site.invoke_waiting()
    site.assert_not_polled(run_id)
    with httpx.Client(base_url=site.url, timeout=10.0) as browser:
        assert browser.post("/login", data={"api_key": API_KEY}).status_code in (200, 303)
        page = browser.get("/connections")
        assert page.status_code == 200
        assert "github" in page.text and "not set" in page.text and "stars/github" in page.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None

        forged = browser.post("/connections/set", data={"name": "github", "credentials": "x"})
        assert forged.status_code == 403
        done = browser.post("/connections/set", data={
            "csrf_token": token.group(1), "name": "github", "credentials": f'{{"token": "{SECRET}"}}',
        })  # fmt: skip

        assert done.status_code == 200
        assert "Connection github set; 1 waiting run(s) woken." in done.text
        assert SECRET not in done.text
        site.assert_completed_once_woken(run_id)
        again = browser.get("/connections")
        assert "not set" not in again.text and SECRET not in again.text


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # fmt: skip


def test_the_dashboard_form_in_chromium_wakes_the_run(tmp_path: Path, serve: Any) -> None:
    if not CHROMIUM.exists():
        from support.servers import unavailable

        unavailable(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import expect, sync_playwright
    from triggerfish.core import SQLiteStore

    client = github_client(SQLiteStore(tmp_path / "runs.db"))
    with serve(create_app(client)) as server, sync_playwright() as playwright:
        site = Site(server.url, client)
        run_id = site.invoke_waiting()
        site.assert_not_polled(run_id)
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)  # fmt: skip
        page = browser.new_page()
        page.goto(f"{server.url}/login")
        page.get_by_label("API key").fill(API_KEY)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("link", name="Connections", exact=True).click()
        row = page.get_by_role("row").filter(has_text="stars/github")
        expect(row).to_contain_text("not set")

        row.get_by_label("Credentials for github").fill(f'{{"token": "{SECRET}"}}')
        row.get_by_role("button", name="Set", exact=True).click()

        expect(page.get_by_role("status")).to_have_text(
            re.compile("Connection github set; 1 waiting run\\(s\\) woken.")
        )
        expect(page.get_by_role("row").filter(has_text="stars/github")).not_to_contain_text(
            "not set"
        )
        assert SECRET not in page.content()
        site.assert_completed_once_woken(run_id)
        browser.close()
    client.store.close()
