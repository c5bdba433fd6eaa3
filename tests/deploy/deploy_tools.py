"""Helpers for the deploy tests: the tools they need and the real Lambda build, made once.

Not a conftest.py: a second module named ``conftest`` on sys.path breaks tests that import
from the root conftest. The build (pip for Lambda's platform) takes seconds, so each
architecture is built once per test process, into a temporary folder removed at exit.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "deploy" / "build.py"
OSLS = ROOT / "node_modules" / ".bin" / "osls"
CFN_LINT = Path(sys.executable).with_name("cfn-lint")
JOBS_PACKAGE = "acme_jobs"


def require(tool: Path | str | None, what: str) -> Path:
    """Return the tool's path; skip when it is missing, but fail under CI=true."""
    if tool and Path(tool).exists():
        return Path(tool)
    message = f"{what} is missing ({tool}); run `make install node`"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def osls() -> Path:
    """The osls executable from node_modules (node must be on PATH)."""
    require(shutil.which("node"), "node")
    return require(OSLS, "osls (npm, the Serverless Framework v3 fork)")


def cfn_lint() -> Path:
    """The cfn-lint executable of this virtualenv."""
    return require(CFN_LINT, "cfn-lint (PyPI)")


@cache
def _scratch() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="triggerfish-deploy-tests-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


@cache
def jobs_folder() -> Path:
    """A user's jobs package, to check that the build puts it at the zip's root."""
    folder = _scratch() / "user" / JOBS_PACKAGE
    (folder / "__pycache__").mkdir(parents=True)
    (folder / "__init__.py").write_text('"""Jobs of a user of triggerfish."""\n')
    (folder / "jobs.py").write_text(USER_JOBS)
    (folder / "__pycache__" / "jobs.cpython-311.pyc").write_bytes(b"stale")
    return folder


USER_JOBS = """
import os

import humanize  # the app's own requirement (requirements.txt), not triggerfish's
from triggerfish.core import Client, invoke_trigger
from triggerfish.core.integrations import HttpIntegration

client = Client.from_env("acme")
api = HttpIntegration(os.environ.get("ACME_API_URL", "http://127.0.0.1:9"))


@client.define_job(id="greet", trigger=invoke_trigger(), integrations={"api": api})
async def greet(payload, io, ctx):
    answer = await io.integrations["api"].post("hello", "/echo/hello", json=payload)
    return {"echoed": answer["sent"], "size": humanize.naturalsize(payload["bytes"])}
"""
"""The user's jobs: an HttpIntegration (httpx, from the [lambda] extra) and their own
requirement, `humanize`, which only the build's --requirements brings into the artifact."""


@cache
def requirements_file() -> Path:
    """The user's requirements.txt beside their jobs package."""
    path = jobs_folder().parent / "requirements.txt"
    path.write_text("humanize>=4\n")
    return path


@cache
def built_artifact(arch: str) -> Path:
    """Run deploy/build.py for real, once per architecture, and return the zip."""
    out_dir = _scratch() / f"lambda-{arch}"
    command = [sys.executable, str(BUILD_SCRIPT), "--arch", arch, "--out", str(out_dir)]
    command += ["--jobs", str(jobs_folder()), "--requirements", str(requirements_file())]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return out_dir / f"triggerfish-{arch}.zip"


@cache
def lambda_runtime_client(python_version: str = "3.12") -> Path:
    """awslambdaric as Lambda's image has it: installed for CPython 3.12 on this platform."""
    target = _scratch() / "awslambdaric"
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target)]
    command += ["--platform", "manylinux2014_x86_64", "--only-binary=:all:"]
    command += ["--python-version", python_version, "--implementation", "cp", "awslambdaric"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return target


def python312() -> Path:
    """A CPython 3.12 interpreter, Lambda's runtime version (pyenv has one here)."""
    candidates = sorted(Path.home().glob(".pyenv/versions/3.12*/bin/python3.12"))
    candidates += [Path(found) for found in [shutil.which("python3.12")] if found]
    for candidate in candidates:  # a pyenv shim may exist yet refuse to run
        probe = subprocess.run([candidate, "-c", "pass"], capture_output=True, check=False)
        if probe.returncode == 0:
            return candidate
    return require(None, "python3.12")
