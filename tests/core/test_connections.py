"""Connections: a run WAITING_ON_CONNECTIONS until `client.set_connection` wakes it, unpolled;
credentials sealed at rest; the integration built from them (issue 16 item 11)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest
from support.jobs import make_client
from triggerfish.core import IO, Client, ConfigError, Context, RunStatus, invoke_trigger
from triggerfish.core.integrations import HttpIntegration, Integration
from triggerfish.core.sealing import new_key, seal
from triggerfish.core.store.base import ConnectionRecord
from triggerfish.core.testing import drive

KEY = new_key()
SECRET = "ghp_s3cr3t-t0k3n-value"


class CountingDispatcher:
    """Records every "run R again at T" instead of running anything."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []

    async def dispatch(self, run_id: str, at: float) -> None:
        self.calls.append((run_id, at))


class GitHub(Integration):
    """An integration whose SDK client is built from the stored credentials."""

    def __init__(self, *, connection: str | None = None) -> None:
        self.connection = connection
        self.sdk: dict[str, Any] | None = None

    def with_auth(self, credentials: Any) -> GitHub:
        authed = GitHub(connection=self.connection)
        authed.credentials = credentials
        authed.sdk = {"authorization": f"token {credentials['token']}"}
        return authed


def github_client(store: Any, **options: Any) -> Client:
    client = make_client(store, connection_key=KEY, **options)

    @client.define_job(id="stars", trigger=invoke_trigger(),
                       integrations={"github": GitHub(connection="github")})  # fmt: skip
    async def stars(payload: Any, io: IO, ctx: Context) -> Any:
        gh = io.integrations["github"].client
        return {"sdk": gh.sdk, "auth": io.auth["github"]}

    return client


def raw_rows(store: Any) -> str:
    """Every stored row or item, as text, read past the store's own methods."""
    if hasattr(store, "path"):
        with sqlite3.connect(store.path) as db:
            tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            return repr([db.execute(f"SELECT * FROM {t}").fetchall() for t in tables])
    return repr(store._db.scan(TableName=store.table_name)["Items"])


async def test_a_missing_connection_waits_unpolled_until_set_connection_wakes_the_run(
    store: Any,
) -> None:
    dispatcher = CountingDispatcher()
    client = github_client(store, dispatcher=dispatcher)
    run = await client.invoke("stars", None)
    dispatcher.calls.clear()

    first = await client.execute(run.id)
    assert (first.status, first.resume_at) == (RunStatus.WAITING_ON_CONNECTIONS, None)
    waiting = await client.get_run(run.id)
    assert waiting.error is not None and "'github'" in waiting.error["message"]
    client.clock.advance(7 * 24 * 3600)  # type: ignore[attr-defined]
    assert run.id not in await client.tick(), "the sweeper never polls it"
    assert dispatcher.calls == [], "nothing re-invokes it before the connection is set"
    assert (await client.get_run(run.id)).invocation_count == 1

    woken = await client.set_connection("github", {"token": SECRET})

    assert woken == [run.id]
    assert [run_id for run_id, at in dispatcher.calls] == [run.id]
    assert dispatcher.calls[0][1] <= client.clock.time(), "due now"
    assert store.list_connection_waits("github") == []
    done = await client.execute(run.id)
    assert done.status is RunStatus.COMPLETED
    finished = await client.get_run(run.id)
    assert finished.output == {"sdk": {"authorization": f"token {SECRET}"},
                               "auth": {"token": SECRET}}  # fmt: skip
    assert finished.error is None and finished.invocation_count == 2


async def test_credentials_are_sealed_in_the_store_never_plain_text(store: Any) -> None:
    client = github_client(store)
    await client.set_connection("github", {"token": SECRET})

    rows = raw_rows(store)
    assert "github" in rows and SECRET not in rows
    sealed = store.get_connection("github").sealed
    assert sealed.startswith("v1.") and SECRET not in sealed


async def test_a_connection_set_again_replaces_the_credentials(store: Any) -> None:
    client = github_client(store)
    await client.set_connection("github", {"token": "old"})
    client.clock.advance(1)  # type: ignore[attr-defined]
    await client.set_connection("github", {"token": "new"})
    set_at = client.clock.time()
    run = await client.invoke("stars", None)
    await drive(client, run.id)

    assert (await client.get_run(run.id)).output["auth"] == {"token": "new"}
    listed = await client.list_connections()
    assert listed == [{"name": "github", "set": True, "updated_at": listed[0]["updated_at"],
                       "integrations": ["stars/github"]}]  # fmt: skip
    assert set_at - 1 < listed[0]["updated_at"] <= set_at


async def test_a_connection_stored_while_the_run_was_going_to_wait_wakes_it(store: Any) -> None:
    """The setter stored the connection and read the index just before the run's item was
    written: the run's own look after it ends WAITING_ON_CONNECTIONS wakes it."""
    dispatcher = CountingDispatcher()
    client = github_client(store, dispatcher=dispatcher)
    run = await client.invoke("stars", None)
    dispatcher.calls.clear()
    put_wait = store.put_connection_wait

    def setter_slipped_in(wait: Any) -> bool:
        now = client.clock.time()
        sealed = seal(client.runtime.connection_key, "github", json.dumps({"token": SECRET}))
        store.put_connection(ConnectionRecord(name="github", sealed=sealed, created_at=now,
                                              updated_at=now))  # fmt: skip
        return bool(put_wait(wait))

    store.put_connection_wait = setter_slipped_in
    outcome = await client.execute(run.id)
    store.put_connection_wait = put_wait

    assert outcome.status is RunStatus.WAITING_ON_CONNECTIONS
    assert [run_id for run_id, at in dispatcher.calls] == [run.id]
    assert (await client.execute(run.id)).status is RunStatus.COMPLETED


async def test_drive_returns_when_the_run_waits_on_a_connection(store: Any) -> None:
    client = github_client(store)
    run = await client.invoke("stars", None)

    assert (await drive(client, run.id)).status is RunStatus.WAITING_ON_CONNECTIONS
    await client.set_connection("github", {"token": SECRET})
    assert (await drive(client, run.id)).status is RunStatus.COMPLETED


async def test_a_resolver_wins_over_the_declared_connection(store: Any) -> None:
    client = github_client(store, auth_resolvers={"github": lambda ctx, i: {"token": "mine"}})
    run = await client.invoke("stars", None)
    await drive(client, run.id)

    assert (await client.get_run(run.id)).output["auth"] == {"token": "mine"}


async def test_a_connection_sealed_with_another_key_ends_the_run_unresolved_auth(
    store: Any,
) -> None:
    await github_client(store).set_connection("github", {"token": SECRET})
    other = github_client(store)
    other.runtime.connection_key = b"\x01" * 32
    run = await other.invoke("stars", None)
    report = await drive(other, run.id)

    assert report.status is RunStatus.UNRESOLVED_AUTH
    error = (await other.get_run(run.id)).error
    assert error is not None and "'github'" in error["message"]
    assert "another key" in error["message"] and SECRET not in error["message"]


async def test_http_integration_sends_the_stored_token(store: Any) -> None:
    client = make_client(store, connection_key=KEY)
    api = HttpIntegration("https://api.example.com", connection="example-api")

    @client.define_job(id="headers", trigger=invoke_trigger(), integrations={"api": api})
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        return io.integrations["api"].client.auth_headers()

    await client.set_connection("example-api", "t0k3n")
    run = await client.invoke("headers", None)
    await drive(client, run.id)

    assert (await client.get_run(run.id)).output == {"Authorization": "Bearer t0k3n"}


@pytest.mark.parametrize(
    ("name", "credentials", "message"),
    [
        ("git hub", "x", "connection name must be 1 to 100 letters"),
        ("", "x", "connection name must be"),
        ("github", None, "credentials must not be None"),
        ("github", {"when": object()}, "credentials must be JSON data"),
        ("github", "x" * 70_000, "credentials must be at most 65536 bytes"),
    ],
)
async def test_bad_connections_are_refused_and_nothing_is_written(
    sqlite_or_moto_store: Any, name: str, credentials: Any, message: str
) -> None:
    client = github_client(sqlite_or_moto_store)
    with pytest.raises(ConfigError, match=message):
        await client.set_connection(name, credentials)
    assert sqlite_or_moto_store.list_connections() == []


async def test_set_connection_without_a_key_is_a_config_error(sqlite_or_moto_store: Any) -> None:
    client = make_client(sqlite_or_moto_store)
    with pytest.raises(ConfigError, match="connection_key.*TRIGGERFISH_CONNECTION_KEY"):
        await client.set_connection("github", {"token": SECRET})
    assert sqlite_or_moto_store.list_connections() == []


def test_the_connection_key_comes_from_the_settings_and_is_checked(tmp_path: Any) -> None:
    env = {"TRIGGERFISH_DB": str(tmp_path / "runs.db"), "TRIGGERFISH_CONNECTION_KEY": KEY}
    assert Client.from_env(environ=env).runtime.connection_key is not None
    with pytest.raises(ConfigError, match=r"connection_key must be 32 bytes.*got 9 characters"):
        Client.from_env(environ={**env, "TRIGGERFISH_CONNECTION_KEY": "too-short"})


def test_a_bad_declared_connection_name_is_refused_at_definition(tmp_path: Any) -> None:
    from triggerfish.core import SQLiteStore

    client = Client("t", store=SQLiteStore(tmp_path / "runs.db"))
    with pytest.raises(ConfigError, match="connection of integration 'gh' must be 1 to 100"):
        client.define_job(id="j", trigger=invoke_trigger(), run=lambda p, io, ctx: None,
                          integrations={"gh": GitHub(connection="no spaces")})  # fmt: skip


async def test_an_index_item_left_behind_does_not_wake_a_run_gone_on_to_another_wait(
    store: Any,
) -> None:
    from triggerfish.core.store.base import ConnectionWaitRecord

    client = github_client(store)

    @client.define_job(id="napper", trigger=invoke_trigger())
    async def napper(payload: Any, io: IO, ctx: Context) -> None:
        await io.wait("nap", seconds=3600)

    run = await client.invoke("napper", None)
    waiting = await client.execute(run.id)
    store.put_connection_wait(ConnectionWaitRecord(name="github", run_id=run.id,
                                                   created_at=client.clock.time()))  # fmt: skip

    assert await client.set_connection("github", {"token": SECRET}) == []
    assert store.get_run(run.id).resume_at == waiting.resume_at
    assert store.list_connection_waits("github") == []


async def test_replay_reads_a_connection_and_stops_at_a_missing_one_writing_nothing(
    sqlite_or_moto_store: Any,
) -> None:
    from triggerfish.core.testing import replay

    client = github_client(sqlite_or_moto_store)
    run = await client.invoke("stars", None)
    await client.execute(run.id)
    sqlite_or_moto_store.delete_connection_wait("github", run.id)

    waiting = await replay(client, run.id)
    assert (waiting.compatible, waiting.divergence) == (True, None)
    assert sqlite_or_moto_store.list_connection_waits("github") == [], "replay wrote nothing"
    await client.set_connection("github", {"token": SECRET})
    await drive(client, run.id)
    done = await replay(client, run.id)
    assert (done.compatible, done.divergence) == (True, None)
