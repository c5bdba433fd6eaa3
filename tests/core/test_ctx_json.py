"""`ctx` goes into payloads and outputs as v2 jobs put it there (`{payload, ctx}`), even in
a fresh process where its models were never validated (they are built on first use)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys
    from pydantic_core import to_jsonable_python
    from triggerfish.core import Client, SQLiteStore, event_trigger, invoke_trigger
    from triggerfish.core.testing import drive

    client = Client("ctx-json", store=SQLiteStore(sys.argv[1]))

    @client.define_job(id="parent", trigger=invoke_trigger())
    async def parent(payload, io, ctx):
        await io.send_event("tell", "child.go", {"payload": payload, "ctx": ctx})
        return {"ctx": ctx, "plain": to_jsonable_python(ctx)["job"]}

    @client.define_job(id="child", trigger=event_trigger("child.go"))
    async def child(payload, io, ctx):
        return payload["ctx"]["job"]["id"]

    async def main():
        run = await client.invoke("parent", {"n": 1})
        await drive(client, run.id)
        done = await client.get_run(run.id)
        children = (await client.list_runs(job_id="child")).runs
        child = children and await drive(client, children[0].id)
        child_run = child and await client.get_run(children[0].id)
        print(json.dumps([done.status.value, done.error, child_run and child_run.status.value,
                          child_run and child_run.output]))

    asyncio.run(main())
    """
)


def test_a_fresh_process_sends_and_returns_ctx_as_json(tmp_path: Path) -> None:
    script = tmp_path / "ctx_json.py"
    script.write_text(SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "runs.db")],
        check=False, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    status, error, child_status, child_output = json.loads(done.stdout)
    assert (status, error) == ("COMPLETED", None)
    assert (child_status, child_output) == ("COMPLETED", "parent")
