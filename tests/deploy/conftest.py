"""Fixtures for the deploy tests: the real Lambda build, shared by every module here.

Building (pip for Lambda's platform) and packaging (osls) take seconds each, so the build
runs once per session and each test module packages once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "deploy" / "build.py"
OSLS = ROOT / "node_modules" / ".bin" / "osls"
CFN_LINT = Path(sys.executable).with_name("cfn-lint")


def require(tool: Path | str | None, what: str) -> None:
    """Skip when a tool is missing on a laptop; fail under CI=true, where it must exist."""
    if tool and Path(tool).exists():
        return
    message = f"{what} is missing ({tool}); run `make install node`"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def build_artifact(arch: str, out_dir: Path, jobs: Path) -> Path:
    """Run deploy/build.py for real and return the zip it wrote."""
    command = [sys.executable, str(BUILD_SCRIPT), "--arch", arch, "--out", str(out_dir)]
    command += ["--jobs", str(jobs)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return out_dir / f"triggerfish-{arch}.zip"


@pytest.fixture(scope="session")
def jobs_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's jobs package, to check that the build puts it at the zip's root."""
    folder = tmp_path_factory.mktemp("user") / "acme_jobs"
    folder.mkdir()
    (folder / "__init__.py").write_text('"""Jobs of a user of triggerfish."""\n')
    (folder / "jobs.py").write_text("client = None\n")
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "jobs.cpython-311.pyc").write_bytes(b"stale")
    return folder


@pytest.fixture(scope="session")
def x86_artifact(tmp_path_factory: pytest.TempPathFactory, jobs_folder: Path) -> Path:
    """The real x86_64 artifact, built once per session."""
    return build_artifact("x86_64", tmp_path_factory.mktemp("lambda"), jobs_folder)


@pytest.fixture(scope="session")
def arm64_artifact(tmp_path_factory: pytest.TempPathFactory, jobs_folder: Path) -> Path:
    """The real arm64 artifact, built once per session."""
    return build_artifact("arm64", tmp_path_factory.mktemp("lambda"), jobs_folder)


@pytest.fixture(scope="session")
def osls() -> Path:
    """The osls executable from node_modules."""
    require(shutil.which("node"), "node")
    require(OSLS, "osls (npm, the Serverless Framework v3 fork)")
    return OSLS


@pytest.fixture(scope="session")
def cfn_lint() -> Path:
    """The cfn-lint executable of this virtualenv."""
    require(CFN_LINT, "cfn-lint (PyPI)")
    return CFN_LINT
