"""The pytest plugin (core/pytest_plugin.py, issue 20 item 2): registered through the
``pytest11`` entry point, its fixtures reach a user's own tests with nothing imported.

The project of docs/testing.md is written, file by file, from that page's code blocks
into a temporary directory outside this repository and tested there by a pytest of its
own (a subprocess): the page's examples are the test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from triggerfish.core import (
    IO,
    Client,
    Context,
    RunStatus,
    SkippingClock,
    SQLiteStore,
    invoke_trigger,
)
from triggerfish.core.pytest_plugin import ClientSwap, JobRunner

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "testing.md"
_BLOCK = re.compile(r"```(?:python|toml)\n# (?P<path>[\w./]+)\n(?P<body>.*?)```", re.DOTALL)


def write_docs_project(into: Path) -> list[str]:
    """Every code block of docs/testing.md that starts with ``# <path>``, written there."""
    written = []
    for block in _BLOCK.finditer(DOCS.read_text()):
        path = into / block["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block["body"])
        written.append(block["path"])
    return written


def run_pytest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TRIGGERFISH_", "PYTEST_", "PYTHONPATH"))}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=project, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


def test_the_docs_project_passes_using_the_fixtures_without_importing_them(
    tmp_path: Path,
) -> None:
    written = write_docs_project(tmp_path)
    assert {"pyproject.toml", "myapp/jobs.py", "myapp/refunds.py", "tests/test_welcome.py",
            "tests/test_refunds.py", "myapp/__init__.py"} <= set(written)  # fmt: skip
    assert "pytest_plugin" not in "".join((tmp_path / p).read_text() for p in written)

    result = run_pytest(tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout, result.stdout


def test_the_plugin_can_be_turned_off_and_a_wrong_ini_client_is_a_usage_error(
    tmp_path: Path,
) -> None:
    write_docs_project(tmp_path)
    off = run_pytest(tmp_path, "-p", "no:triggerfish")
    assert off.returncode != 0 and "fixture 'triggerfish' not found" in off.stdout

    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("myapp.jobs:client", "myapp.jobs:nope"))
    wrong = run_pytest(tmp_path)
    assert wrong.returncode != 0
    assert "'myapp.jobs:nope' is not a triggerfish Client" in wrong.stdout + wrong.stderr


# -- our own tests use the fixtures (loaded through the same entry point) ------------------


async def test_a_fresh_client_fixture_drives_a_days_wait_at_once(
    triggerfish: JobRunner, triggerfish_client: Client, triggerfish_clock: SkippingClock
) -> None:
    @triggerfish_client.define_job(id="slow", trigger=invoke_trigger())
    async def slow(payload: Any, io: IO, ctx: Context) -> str:
        await io.wait("a day", seconds=86400)
        io.logger.info("woke up")
        return "done"

    done = await triggerfish.invoke("slow")
    assert (done.status, done.output, done.log_messages) == (RunStatus.COMPLETED, "done",
                                                             ["woke up"])  # fmt: skip
    assert done.task("a day").kind == "wait" and triggerfish_clock.offset_seconds > 86000
    with pytest.raises(KeyError, match="'nope'.*'a day'"):
        done.task("nope")


async def test_a_nested_task_is_found_by_its_path(triggerfish: JobRunner) -> None:
    @triggerfish.client.define_job(id="nested", trigger=invoke_trigger())
    async def nested(payload: Any, io: IO, ctx: Context) -> int:
        async def outer() -> int:
            return await io.run_task("inner", lambda: 2) + 1

        return await io.run_task("outer", outer)

    done = await triggerfish.invoke("nested")
    assert done.task("outer/inner").output == 2 and done.task("inner").parent is not None


def test_a_swapped_client_gets_its_own_settings_back(tmp_path: Path) -> None:
    own_store = SQLiteStore(tmp_path / "own.db")
    client = Client("mine", store=own_store, base_url="https://jobs.example.com")
    own_clock = client.clock
    test_store, test_clock = SQLiteStore(":memory:"), SkippingClock()
    swap = ClientSwap(test_store, test_clock)

    assert swap.use(client) is client
    assert (client.store, client.clock, client.dispatcher) == (test_store, test_clock, None)
    assert client.base_url == "https://jobs.example.com"  # kept: it had one
    swap.restore()
    assert (client.store, client.clock, client.base_url) == (
        own_store, own_clock, "https://jobs.example.com")
    own_store.close()
    test_store.close()
