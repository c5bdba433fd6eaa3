"""The dashboard's parts without a browser: sessions, badges, the timeline and the pages.

Pages are fetched in process (httpx's ASGI transport) from the bare `dashboard_routes`
of a client without a dispatcher, so the runs stay where a test puts them; the browser
and live-server tests are in test_dashboard_browser.py.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from triggerfish.adapters.asgi.badges import RUN_BADGES, TASK_BADGES, badge
from triggerfish.adapters.asgi.dashboard import dashboard_routes
from triggerfish.adapters.asgi.pages import FRAGMENT_HEADER, trigger_text
from triggerfish.adapters.asgi.sessions import SessionSigner
from triggerfish.adapters.asgi.timeline import build_timeline, format_duration
from triggerfish.core import (
    IO,
    Client,
    ConfigError,
    Context,
    Run,
    RunStatus,
    SQLiteStore,
    Task,
    TaskStatus,
    invoke_trigger,
)

KEY = "unit-key"
T0 = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# -- sessions ------------------------------------------------------------------------------


def test_a_session_cookie_is_accepted_only_untampered_and_by_the_same_key() -> None:
    signer = SessionSigner(KEY)
    cookie = signer.new_session()
    session_id = signer.session_id(cookie)
    assert session_id
    assert signer.session_id(cookie[:-2] + "xx") is None
    assert signer.session_id("garbage") is None
    assert signer.session_id(None) is None
    assert SessionSigner("another-key").session_id(cookie) is None
    assert SessionSigner(KEY, max_age_seconds=-1).session_id(cookie) is None
    assert "unit-key" not in repr(signer)


def test_csrf_tokens_belong_to_one_session() -> None:
    signer = SessionSigner(KEY)
    first, second = (signer.session_id(signer.new_session()) for _ in range(2))
    assert first and second
    token = signer.csrf_token(first)
    assert signer.is_csrf_token(first, token)
    assert not signer.is_csrf_token(second, token)
    assert not signer.is_csrf_token(first, None)
    assert not signer.is_csrf_token(first, "")


def test_the_dashboard_refuses_to_start_without_an_api_key() -> None:
    with pytest.raises(ConfigError, match="API key"):
        SessionSigner("")


# -- badges and timeline -------------------------------------------------------------------


def test_every_status_has_its_own_glyph_label_and_colour() -> None:
    assert set(RUN_BADGES) == set(RunStatus)
    assert set(TASK_BADGES) == set(TaskStatus)
    runs = list(RUN_BADGES.values())
    for attribute in ("glyph", "label", "css"):
        assert len({getattr(b, attribute) for b in runs}) == len(RunStatus), attribute
    assert badge(TaskStatus.ERRORED).label == "Errored"
    assert badge(RunStatus.TIMED_OUT).label == "Timed out"


def test_timeline_bars_share_the_run_axis_and_nest_subtasks() -> None:
    child = Task(
        id="c", key="child", status=TaskStatus.COMPLETED, started_at=at(2), completed_at=at(4)
    )
    parent = Task(
        id="p",
        key="parent",
        status=TaskStatus.COMPLETED,
        started_at=at(1),
        completed_at=at(5),
        children=[child],
    )
    wait = Task(id="w", key="pause", kind="wait", status=TaskStatus.WAITING, started_at=at(5))
    run = Run(
        id="r",
        job_id="j",
        status=RunStatus.WAITING,
        created_at=at(0),
        started_at=at(0),
        tasks=[parent, wait],
    )
    timeline = build_timeline(run, now=at(10))
    assert timeline.axis_seconds == 10
    rows = {row.task.key: row for row in timeline.rows}
    assert [row.task.key for row in timeline.rows] == ["parent", "child", "pause"]
    assert (rows["child"].depth, rows["child"].offset_percent, rows["child"].width_percent) == (
        1,
        20.0,
        20.0,
    )
    assert rows["parent"].offset_percent == 10.0 and rows["parent"].width_percent == 40.0
    assert rows["pause"].is_open and rows["pause"].width_percent == 50.0
    assert rows["pause"].duration_seconds == 5


def test_a_finished_run_ends_its_axis_and_an_instant_task_stays_visible() -> None:
    instant = Task(
        id="i", key="instant", status=TaskStatus.COMPLETED, started_at=at(4), completed_at=at(4)
    )
    run = Run(
        id="r",
        job_id="j",
        status=RunStatus.COMPLETED,
        created_at=at(0),
        started_at=at(0),
        completed_at=at(4),
        tasks=[instant],
    )
    (row,) = build_timeline(run, now=at(100)).rows
    assert row.offset_percent + row.width_percent <= 100.0
    assert row.width_percent > 0


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "\u2014"),
        (0.25, "250 ms"),
        (4.24, "4.2 s"),
        (185, "3 min 05 s"),
        (7260, "2 h 01 min"),
    ],
)
def test_durations_read_short(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


def test_triggers_read_as_a_few_words() -> None:
    from triggerfish.core import cron_trigger, event_trigger, interval_trigger, webhook_trigger

    triggers = [
        event_trigger("user.created"),
        cron_trigger("0 3 * * *"),
        interval_trigger(86400),
        interval_trigger(90),
        webhook_trigger("github", secret="s"),
        invoke_trigger(),
    ]
    assert [trigger_text(t.describe()) for t in triggers] == [
        "event user.created",
        "cron 0 3 * * *",
        "every 1 d",
        "every 1 min 30 s",
        "webhook github",
        "invoke",
    ]


# -- pages in process ----------------------------------------------------------------------


@pytest.fixture
async def dash(tmp_path: Path) -> AsyncIterator[tuple[Client, httpx.AsyncClient]]:
    """The bare dashboard under /d, logged in, on a client without a dispatcher."""
    client = Client("unit", store=SQLiteStore(tmp_path / "runs.db"))

    @client.define_job("echo", name="Echo <b>bold</b>", trigger=invoke_trigger())
    async def echo(payload: Any, io: IO, ctx: Context) -> Any:
        return payload

    app = Starlette(routes=[Mount("/d", routes=dashboard_routes(client, api_key=KEY))])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        answer = await http.post("/d/login", data={"api_key": KEY, "next": "/d/"})
        assert answer.status_code == 303
        yield client, http
    client.store.close()


async def test_pages_escape_user_text_and_send_a_strict_policy(
    dash: tuple[Client, httpx.AsyncClient],
) -> None:
    client, http = dash
    run = await client.invoke("echo", {"html": "<script>alert(1)</script>"})
    for path in ["/d/", "/d/jobs/echo", f"/d/runs/{run.id}"]:
        answer = await http.get(path)
        assert answer.status_code == 200, path
        assert "<script>alert(1)" not in answer.text and "<b>bold" not in answer.text
        policy = answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'nonce-" in policy
        assert answer.headers["cache-control"] == "no-store"
    assert "&lt;script&gt;alert(1)" in answer.text


async def test_a_live_page_refreshes_itself_and_its_fragment_is_only_main(
    dash: tuple[Client, httpx.AsyncClient],
) -> None:
    client, http = dash
    run = await client.invoke("echo", 1)
    page = await http.get(f"/d/runs/{run.id}")
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page.text
    assert 'data-live="yes"' in page.text
    nonce = re.search(r"'nonce-([^']+)'", page.headers["content-security-policy"])
    assert nonce and f'<script nonce="{nonce.group(1)}">' in page.text
    fragment = await http.get(f"/d/runs/{run.id}", headers={FRAGMENT_HEADER: "live"})
    assert fragment.text.lstrip().startswith('<main id="live" data-live="yes"')
    assert f'data-events="/d/runs/{run.id}/events"' in fragment.text
    assert "<html" not in fragment.text
    await client.cancel_run(run.id)
    done = await http.get(f"/d/runs/{run.id}")
    assert "http-equiv" not in done.text and "<script" not in done.text
    assert "Re-run with the same payload" in done.text
    http.cookies.clear()
    expired = await http.get(f"/d/runs/{run.id}", headers={FRAGMENT_HEADER: "live"})
    assert expired.status_code == 401


async def test_the_bare_dashboard_streams_a_runs_events(
    dash: tuple[Client, httpx.AsyncClient],
) -> None:
    client, http = dash
    run = await client.invoke("echo", {"n": 1})
    await client.execute(run.id)
    answer = await http.get(f"/d/runs/{run.id}/events")
    assert answer.status_code == 200
    assert "event: run" in answer.text and "event: end" in answer.text


async def test_a_jobs_runs_filter_by_status_and_page_by_cursor(
    dash: tuple[Client, httpx.AsyncClient],
) -> None:
    client, http = dash
    ids = [(await client.invoke("echo", i)).id for i in range(27)]
    await client.cancel_run(ids[0])
    first = await http.get("/d/jobs/echo")
    assert first.text.count('href="/d/runs/run_') == 25
    cursor = re.search(r'rel="next" href="([^"]+)"', first.text)
    assert cursor
    second = await http.get(cursor.group(1).replace("&amp;", "&"))
    assert second.text.count('href="/d/runs/run_') == 2
    assert 'rel="next"' not in second.text and "First page" in second.text
    canceled = await http.get("/d/jobs/echo?status=canceled")
    assert canceled.text.count('href="/d/runs/run_') == 1 and ids[0] in canceled.text
    assert (await http.get("/d/jobs/echo?status=NOPE")).status_code == 400
    assert (await http.get("/d/jobs/echo?cursor=%25%25")).status_code == 400
    jobs = await http.get("/d/")
    assert "Pending <b>26</b>" in jobs.text and "Canceled <b>1</b>" in jobs.text


async def test_rerun_starts_a_new_run_with_the_same_payload(
    dash: tuple[Client, httpx.AsyncClient],
) -> None:
    client, http = dash
    run = await client.invoke("echo", {"n": 1})
    page = await http.get(f"/d/runs/{run.id}")
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert token
    live = await http.post(f"/d/runs/{run.id}/rerun", data={"csrf_token": token.group(1)})
    assert live.status_code == 409
    await client.cancel_run(run.id)
    answer = await http.post(f"/d/runs/{run.id}/rerun", data={"csrf_token": token.group(1)})
    assert answer.status_code == 303
    new_id = answer.headers["location"].rsplit("/", 1)[-1]
    assert new_id != run.id
    assert (await client.get_run(new_id)).payload == {"n": 1}


async def test_the_jobs_pages_show_when_a_scheduled_job_fires_next(
    dash: tuple[Client, httpx.AsyncClient],
) -> None:
    from triggerfish.core import cron_trigger
    from triggerfish.core.schedule import next_fire_times

    client, http = dash
    trigger = cron_trigger("0 0 1 JAN *", timezone="Pacific/Auckland")

    @client.define_job("new-year", trigger=trigger)
    async def new_year(payload: Any, io: IO, ctx: Context) -> None:
        return None

    expected = next_fire_times(trigger, datetime.now(UTC), 1)[0]
    assert expected.month == 12 and expected.day == 31 and expected.hour == 11
    for path in ["/d/", "/d/jobs/new-year"]:
        page = await http.get(path)
        assert "cron 0 0 1 JAN * (Pacific/Auckland)" in page.text
        assert f'<time class="next-fire" datetime="{expected.isoformat()}">' in page.text, path
    assert 'class="next-fire"' not in (await http.get("/d/jobs/echo")).text


async def test_a_run_page_shows_task_properties_and_when_a_wait_times_out(
    dash: tuple[Client, httpx.AsyncClient],
) -> None:
    client, http = dash

    @client.define_job("ship", trigger=invoke_trigger())
    async def ship(payload: Any, io: IO, ctx: Context) -> Any:
        region = [{"label": "region", "text": "<eu-west-1>"}]
        await io.run_task("pick", lambda: "ok", properties=region)
        return await io.wait_for_event("paid", "order.paid", timeout=60)

    run = await client.invoke("ship", {})
    await client.execute(run.id)
    assert (await client.get_run(run.id, tasks=False)).status == RunStatus.WAITING
    page = (await http.get(f"/d/runs/{run.id}")).text
    assert "<dt>region</dt>" in page and "&lt;eu-west-1&gt;" in page
    assert "<dt>event</dt>" in page and "order.paid" in page and "Times out at" in page
