"""`triggerfish replay MODULE:client`: the pre-deploy check, its exit status and --json."""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from triggerfish.adapters.cli import main
from triggerfish.core.testing import drive

MODULE = '''
from triggerfish.core import Client, SQLiteStore, SkippingClock, invoke_trigger

client = Client("cli", store=SQLiteStore({db!r}), clock=SkippingClock())


@client.define_job(id="flow", trigger=invoke_trigger())
async def flow(payload, io, ctx):
{body}
'''

V1 = """    a = await io.run_task("a", lambda: 1)
    await io.wait("nap", seconds=30)
    return a + await io.run_task("b", lambda: 2)"""
EXTENDED = V1.replace("    return a + await", "    b = await") + """
    await io.run_task("c", lambda: 3)
    return a + b"""
INSERTED = "    await io.run_task(\"setup\", lambda: 0)\n" + V1


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Writes `name.py` holding a client on one SQLite file; returns a writer."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    db = str(tmp_path / "runs.db")

    def write(name: str, body: str) -> str:
        (tmp_path / f"{name}.py").write_text(MODULE.format(db=db, body=body))
        importlib.invalidate_caches()
        return f"{name}:client"

    yield write
    for name in [m for m in sys.modules if m.startswith("jobs_v")]:
        del sys.modules[name]


def record_runs(spec: str, count: int) -> list[str]:
    module = importlib.import_module(spec.split(":")[0])
    client = module.client

    async def go() -> list[str]:
        ids = []
        for _ in range(count):
            run = await client.invoke("flow", None)
            await drive(client, run.id)
            ids.append(run.id)
        return ids

    return asyncio.run(go())


def test_replay_passes_unchanged_and_extended_code_and_fails_a_divergence(
    project: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    run_ids = record_runs(project("jobs_v1", V1), 2)
    capsys.readouterr()

    assert main(["replay", project("jobs_v2", EXTENDED), "--job", "flow", "--last", "5"]) == 0
    out = capsys.readouterr().out
    assert "2 compatible, 0 diverged" in out and "(extended)" in out

    code = main(["replay", project("jobs_v3", INSERTED), "--run", run_ids[0], "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report["compatible"] is False
    (only,) = report["runs"]
    assert only["run_id"] == run_ids[0]
    assert only["reason"] == "new_key" and only["key"] == "setup"
    assert "'setup'" in only["divergence"]


def test_replay_of_an_unknown_run_or_job_is_one_error_line(
    project: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = project("jobs_v4", V1)
    assert main(["replay", spec, "--run", "nope"]) == 1
    assert capsys.readouterr().err.strip() == "error: no run with id 'nope'"
    assert main(["replay", spec, "--job", "other"]) == 1
    assert "job 'other' is not defined" in capsys.readouterr().err
    assert main(["replay", spec, "--job", "flow", "--last", "0"]) == 1
    assert "--last must be 1 to 1000" in capsys.readouterr().err
