"""`io.invoke` (fire and forget, with a callback URL) and `io.invoke_and_wait(...,
raise_on_failure=False)` (issue 16 item 2)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from support.jobs import make_client
from triggerfish.core import IO, ConfigError, Context, RunStatus, invoke_trigger
from triggerfish.core.ends import HOOK_LEASE_SECONDS
from triggerfish.core.testing import drive


@contextmanager
def receiver(failures: int = 0) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A callback URL that records each POSTed body; answers 500 to the first `failures`."""
    bodies: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            bodies.append(json.loads(self.rfile.read(length)))
            self.send_response(500 if len(bodies) <= failures else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/done", bodies
    finally:
        server.shutdown()
        server.server_close()


def define_child(client: Any) -> None:
    @client.define_job(id="child", trigger=invoke_trigger())
    async def child(payload: Any, io: IO, ctx: Context) -> Any:
        if payload == "fail":
            raise ValueError("bad input")
        return {"doubled": payload * 2}


async def test_invoke_starts_a_run_once_and_goes_on(store: Any) -> None:
    client = make_client(store)
    define_child(client)

    @client.define_job(id="parent", trigger=invoke_trigger())
    async def parent(payload: Any, io: IO, ctx: Context) -> Any:
        started = await io.invoke("start", "child", 21)
        named = await io.invoke("named", "child", 1, id="order-42")
        await io.wait("pause", seconds=5)  # the replay after it starts no second run
        return [started, named]

    run = await client.invoke("parent", None)
    assert (await drive(client, run.id)).status is RunStatus.COMPLETED
    started, named = (await client.get_run(run.id)).output
    assert named == {"id": "order-42"}
    child_runs = (await client.list_runs(job_id="child")).runs
    assert sorted(r.id for r in child_runs) == sorted([started["id"], "order-42"])
    assert (await drive(client, started["id"])).status is RunStatus.COMPLETED
    assert (await client.get_run(started["id"])).output == {"doubled": 42}


async def test_the_finished_run_is_posted_to_the_callback_url(store: Any) -> None:
    client = make_client(store)
    define_child(client)

    with receiver() as (url, bodies):

        @client.define_job(id="parent", trigger=invoke_trigger())
        async def parent(payload: Any, io: IO, ctx: Context) -> Any:
            ok = await io.invoke("ok", "child", 2, callback_url=url)
            bad = await io.invoke("bad", "child", "fail", callback_url=url)
            return [ok["id"], bad["id"]]

        run = await client.invoke("parent", None)
        await drive(client, run.id)
        ok_id, bad_id = (await client.get_run(run.id)).output
        await drive(client, ok_id)
        await drive(client, bad_id)

    assert bodies[0] == {"id": ok_id, "status": "COMPLETED", "output": {"doubled": 4}}
    assert bodies[1]["id"] == bad_id and bodies[1]["status"] == "FAILED"
    assert bodies[1]["error"]["type"] == "ValueError" and "output" not in bodies[1]
    assert len(bodies) == 2


async def test_a_failed_post_is_tried_again_when_the_sweeper_finds_the_run_due(
    store: Any,
) -> None:
    client = make_client(store)
    define_child(client)

    with receiver(failures=1) as (url, bodies):

        @client.define_job(id="parent", trigger=invoke_trigger())
        async def parent(payload: Any, io: IO, ctx: Context) -> Any:
            return (await io.invoke("ok", "child", 2, callback_url=url))["id"]

        run = await client.invoke("parent", None)
        await drive(client, run.id)
        child_id = (await client.get_run(run.id)).output
        await drive(client, child_id)
        assert len(bodies) == 1  # answered 500: still due

        client.clock.advance(HOOK_LEASE_SECONDS + 1)  # type: ignore[attr-defined]
        await client.execute(child_id)  # what the sweeper's dispatch does
        await client.execute(child_id)  # delivered: nothing more to do

    assert [b["status"] for b in bodies] == ["COMPLETED", "COMPLETED"]


async def test_invoke_and_wait_without_raising_returns_v2s_shape(store: Any) -> None:
    client = make_client(store)
    define_child(client)

    @client.define_job(id="parent", trigger=invoke_trigger())
    async def parent(payload: Any, io: IO, ctx: Context) -> Any:
        good = await io.invoke_and_wait("good", "child", 5, raise_on_failure=False)
        bad = await io.invoke_and_wait("bad", "child", "fail", raise_on_failure=False)
        return [good, bad]

    run = await client.invoke("parent", None)
    for _ in range(6):  # parent waits, children run, parent resumes
        for listed in (await client.list_runs()).runs:
            if not listed.status.is_final:
                await client.execute(listed.id)
    good, bad = (await client.get_run(run.id)).output
    assert good == {"ok": True, "output": {"doubled": 10}}
    assert bad["ok"] is False and set(bad) == {"ok", "error"}
    assert bad["error"]["status"] == "FAILED" and "bad input" in bad["error"]["message"]


@pytest.mark.parametrize(
    ("options", "field"),
    [({"callback_url": "ftp://x"}, "callback_url"), ({"id": ""}, "id"), ({"id": "x" * 201}, "id")],
)
async def test_bad_options_are_a_config_error_naming_the_field(
    tmp_path: Any, options: dict[str, Any], field: str
) -> None:
    from triggerfish.core import SQLiteStore

    client = make_client(SQLiteStore(tmp_path / "runs.db"))
    define_child(client)

    @client.define_job(id="parent", trigger=invoke_trigger())
    async def parent(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.invoke("start", "child", 1, **options)

    run = await client.invoke("parent", None)
    await client.execute(run.id)
    failed = await client.get_run(run.id)
    assert failed.status is RunStatus.FAILED and failed.tasks == []
    assert failed.error is not None and failed.error["type"] == ConfigError.__name__
    assert field in failed.error["message"]
