"""The pinned public API at its edges (DESIGN.md, Public API): options of the wrong type,
typos, odd text and odd times get a clear `ConfigError` naming the field, and store nothing.
Each test failed before its fix.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from support.jobs import make_client
from triggerfish.core import (
    Client,
    ConfigError,
    EventNotFound,
    RetryPolicy,
    RunNotFound,
    RunStatus,
    SQLiteStore,
    TaskStatus,
    cron_trigger,
    event_trigger,
    invoke_trigger,
    webhook_trigger,
)
from triggerfish.core.testing import drive


@pytest.fixture
def client(tmp_path: Path) -> Any:
    return make_client(SQLiteStore(tmp_path / "runs.db"))


async def _noop(payload: Any, io: Any, ctx: Any) -> int:
    return 1


async def _failed_run(
    client: Any, job_id: str, *, error_type: str, says: str, **drive_options: Any
) -> Any:
    """Invokes `job_id`, drives it to its end and checks it FAILED with `error_type` ("":
    any) and a message containing `says`; returns the run, read back (readable)."""
    run = await client.invoke(job_id)
    await drive(client, run.id, **drive_options)
    failed = await client.get_run(run.id)
    assert failed.status is RunStatus.FAILED
    if error_type:
        assert failed.error["type"] == error_type
    assert says in failed.error["message"]
    return failed


# -- define_job(concurrency_limit=...) ------------------------------------------------------


@pytest.mark.parametrize("limit", [1.5, True, math.nan, math.inf, "3", 0])
def test_concurrency_limit_must_be_a_whole_number_of_at_least_one(
    client: Any, limit: Any
) -> None:
    with pytest.raises(ConfigError, match="concurrency_limit"):
        client.define_job("j", trigger=invoke_trigger(), concurrency_limit=limit, run=_noop)
    assert "j" not in client.jobs


def test_concurrency_limit_accepts_a_whole_number(client: Any) -> None:
    job = client.define_job("j", trigger=invoke_trigger(), concurrency_limit=3, run=_noop)
    assert job.concurrency_limit == 3


@pytest.mark.parametrize(
    ("option", "value"),
    [("id", 5), ("name", 5), ("version", None), ("enabled", "no"), ("integrations", [1]),
     ("run", 5)],
)  # fmt: skip
def test_define_job_options_of_the_wrong_type_are_a_config_error(
    client: Any, option: str, value: Any
) -> None:
    options: dict[str, Any] = {"id": "j", "trigger": invoke_trigger(), "run": _noop}
    options[option] = value
    with pytest.raises(ConfigError, match=f"{option} must be"):
        client.define_job(**options)
    assert client.jobs == {}


@pytest.mark.parametrize(
    ("make", "named"),
    [(lambda: event_trigger(5), "name"), (lambda: event_trigger("x", schema=dict), "schema"),
     (lambda: invoke_trigger(schema=5), "schema"),
     (lambda: cron_trigger("* * * * *", timezone=5), "timezone"),
     (lambda: webhook_trigger("w", secret=b"s"), "secret"),
     (lambda: webhook_trigger("w", secret="s", verify="hmac"), "verify")],
)  # fmt: skip
def test_triggers_refuse_options_of_the_wrong_type_at_definition(make: Any, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        make()


@pytest.mark.parametrize(("options", "named"), [({"id": 5}, "id"), ({"store": "runs.db"}, "store")])
def test_client_refuses_an_id_or_store_of_the_wrong_type(
    tmp_path: Path, options: dict[str, Any], named: str
) -> None:
    given: dict[str, Any] = {"id": "acme", "store": SQLiteStore(tmp_path / "runs.db"), **options}
    with pytest.raises(ConfigError, match=f"Client {named} must be"):
        Client(given.pop("id"), **given)


# -- list_runs(limit=...) ------------------------------------------------------------------


@pytest.mark.parametrize("limit", [1.5, True, "10", None])
async def test_list_runs_limit_must_be_a_whole_number(client: Any, limit: Any) -> None:
    with pytest.raises(ConfigError, match="limit"):
        await client.list_runs(limit=limit)


# -- RetryPolicy options -------------------------------------------------------------------


def test_retry_policy_refuses_an_unknown_option_instead_of_ignoring_a_typo() -> None:
    with pytest.raises(ValidationError, match="min_timout"):
        RetryPolicy(limit=3, min_timout=5)  # type: ignore[call-arg]


# -- statuses read as their JSON value -----------------------------------------------------


def test_statuses_print_as_their_json_value() -> None:
    assert str(RunStatus.COMPLETED) == "COMPLETED"
    assert f"{RunStatus.WAITING}" == "WAITING"
    assert str(TaskStatus.ERRORED) == "ERRORED"
    assert RunStatus("FAILED") is RunStatus.FAILED


# -- send_event text and times -------------------------------------------------------------


@pytest.mark.parametrize("field", ["name", "id"])
async def test_send_event_with_a_lone_surrogate_is_a_config_error_and_stores_nothing(
    client: Any, field: str
) -> None:
    client.define_job("on-it", trigger=event_trigger("fine"), run=_noop)
    name = "bad\udcffname" if field == "name" else "fine"
    event_id = "id\udcff" if field == "id" else None
    # An id follows the one id rule (core/ids.py), which takes ASCII only.
    rule = "must be valid Unicode" if field == "name" else "must be 1 to 256 letters"
    with pytest.raises(ConfigError, match=f"send_event {field} {rule}"):
        await client.send_event(name, {}, id=event_id)
    assert len(await client.list_runs()) == 0


async def test_send_event_timestamp_must_be_a_datetime(client: Any) -> None:
    with pytest.raises(ConfigError, match="timestamp"):
        await client.send_event("x", {}, timestamp="2020-01-01")


@pytest.fixture
def local_time_not_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local zone is UTC-4/-5, so reading a naive time as local shows."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("local_time_not_utc")
async def test_send_event_reads_a_naive_timestamp_as_utc_like_the_http_api(client: Any) -> None:
    seen: list[datetime] = []

    @client.define_job("ts", trigger=event_trigger("x"))
    async def ts(payload: Any, io: Any, ctx: Any) -> None:
        seen.append(ctx.event.timestamp)

    naive = datetime(2024, 5, 1, 12, 0, 0)  # the naive case under test
    event = await client.send_event("x", {}, timestamp=naive)
    await drive(client, event.run_ids[0])
    expected = naive.replace(tzinfo=UTC)
    assert event.timestamp == expected
    assert seen == [expected]
    aware = datetime(2024, 5, 1, 14, 0, 0, tzinfo=timezone(timedelta(hours=2)))
    assert (await client.send_event("x", {}, timestamp=aware)).timestamp == expected


# -- execute(deadline=...) -----------------------------------------------------------------


@pytest.mark.parametrize("deadline", [math.nan, "soon", True])
async def test_execute_deadline_must_be_a_timestamp(client: Any, deadline: Any) -> None:
    client.define_job("j", trigger=invoke_trigger(), run=_noop)
    run = await client.invoke("j")
    with pytest.raises(ConfigError, match="deadline"):
        await client.execute(run.id, deadline=deadline)
    assert (await client.get_run(run.id)).status is RunStatus.PENDING


# -- ids no run or event can have -----------------------------------------------------------


@pytest.mark.parametrize("run_id", ["run_\udcff", None, 5])
@pytest.mark.parametrize("method", ["get_run", "cancel_run", "execute", "retry_run"])
async def test_a_run_id_no_run_can_have_is_run_not_found_on_every_store(
    sqlite_or_moto_store: Any, method: str, run_id: Any
) -> None:
    client = make_client(sqlite_or_moto_store)
    with pytest.raises(RunNotFound):
        await getattr(client, method)(run_id)


async def test_an_event_id_with_a_lone_surrogate_is_event_not_found(
    sqlite_or_moto_store: Any,
) -> None:
    client = make_client(sqlite_or_moto_store)
    with pytest.raises(EventNotFound):
        await client.cancel_event("ev\udcff")


async def test_runs_of_a_job_id_with_a_lone_surrogate_are_an_empty_page(
    sqlite_or_moto_store: Any,
) -> None:
    client = make_client(sqlite_or_moto_store)
    client.define_job("j", trigger=invoke_trigger(), run=_noop)
    await client.invoke("j")
    page = await client.list_runs(job_id="j\udcff")
    assert (page.runs, page.next_cursor) == ([], None)


# -- task keys -----------------------------------------------------------------------------


async def test_a_task_key_with_a_lone_surrogate_fails_the_run_naming_the_key_rule(
    client: Any,
) -> None:
    @client.define_job("k", trigger=invoke_trigger())
    async def k(payload: Any, io: Any, ctx: Any) -> Any:
        return await io.run_task("step\udcff", lambda: 1)

    await _failed_run(client, "k", error_type="ValueError", says="task key must be")


# -- io.run_task and io.background_fetch options -------------------------------------------


@pytest.mark.parametrize(
    ("options", "named"),
    [({"properties": "x"}, "properties"), ({"properties": [{"a": {1}}]}, "properties"),
     ({"properties": [{"a": math.nan}]}, "properties"), ({"icon": 5}, "icon"),
     ({"name": 5}, "name"), ({"retry": 3}, "retry"), ({"retry": {"limit": 3}}, "retry")],
)  # fmt: skip
async def test_task_options_of_the_wrong_shape_fail_the_run_clearly_and_leave_it_readable(
    client: Any, options: dict[str, Any], named: str
) -> None:
    @client.define_job("opts", trigger=invoke_trigger())
    async def opts(payload: Any, io: Any, ctx: Any) -> Any:
        return await io.run_task("step", lambda: 1, **options)

    # get_run of a stored bad option raised, every time: the run is read back here
    failed = await _failed_run(client, "opts", error_type="ConfigError",
                               says=f"io.run_task 'step': {named} must be")  # fmt: skip
    assert failed.tasks == []


@pytest.mark.parametrize("url", ["file:///etc/hostname", "data:text/plain,hi", "not a url"])
async def test_background_fetch_fetches_only_http_urls(client: Any, url: str) -> None:
    @client.define_job("fetch", trigger=invoke_trigger())
    async def fetch(payload: Any, io: Any, ctx: Any) -> Any:
        return await io.background_fetch("get", url)

    await _failed_run(client, "fetch", error_type="ConfigError",
                      says="url must start with http:// or https://")  # fmt: skip


# -- names that become store keys: one limit on every store ----------------------------------

TOO_LONG = "n" * 1025  # MAX_NAME_BYTES + 1; DynamoDB keys hold 2048 bytes with prefixes


def test_a_job_id_or_event_trigger_name_over_the_limit_is_refused_at_definition(
    client: Any,
) -> None:
    with pytest.raises(ConfigError, match="define_job id must be at most 1024 bytes"):
        client.define_job(TOO_LONG, trigger=invoke_trigger(), run=_noop)
    with pytest.raises(ConfigError, match="event_trigger name must be at most 1024 bytes"):
        event_trigger(TOO_LONG)
    assert client.define_job("n" * 1024, trigger=invoke_trigger(), run=_noop)


@pytest.mark.parametrize("field", ["name", "id"])
async def test_send_event_name_or_id_over_the_limit_is_the_same_error_on_every_store(
    sqlite_or_moto_store: Any, field: str
) -> None:
    client = make_client(sqlite_or_moto_store)
    name, event_id = (TOO_LONG, None) if field == "name" else ("ok", TOO_LONG)
    rule = "must be at most 1024 bytes" if field == "name" else "must be 1 to 256 letters"
    with pytest.raises(ConfigError, match=f"send_event {field} {rule}"):
        await client.send_event(name, {}, id=event_id)


async def test_a_wait_for_event_name_over_the_limit_fails_the_run_instead_of_looping(
    sqlite_or_moto_store: Any,
) -> None:
    client = make_client(sqlite_or_moto_store)

    @client.define_job("waits", trigger=invoke_trigger())
    async def waits(payload: Any, io: Any, ctx: Any) -> Any:
        return await io.wait_for_event("ping", TOO_LONG)

    # max_invocations: on DynamoDB the over-long key was a store error every invocation
    await _failed_run(client, "waits", error_type="", max_invocations=3,
                      says="io.wait_for_event name must be at most 1024 bytes")  # fmt: skip
