"""The distribution: its public names, its lazy imports, and what the wheel really holds."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import triggerfish.core

ROOT = Path(__file__).resolve().parents[1]


def test_all_lists_exactly_the_public_names() -> None:
    public = {
        name for name in vars(triggerfish.core)
        if not name.startswith("_") and not isinstance(getattr(triggerfish.core, name), type(sys))
        and name not in {"annotations", "TYPE_CHECKING", "Any"}
    }
    lazy = {"DynamoDBStore", "SQSDispatcher", "SQLiteStore", "RetryPolicy",  # on first use
            "Event", "LogLine", "Run", "RunList", "Status", "StatusValue", "Task"}  # fmt: skip
    assert set(triggerfish.core.__all__) == public | lazy
    def isort_style(name: str) -> tuple[int, str]:  # ruff's RUF022 order
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert triggerfish.core.__all__ == sorted(triggerfish.core.__all__, key=isort_style)
    for name in triggerfish.core.__all__:
        assert getattr(triggerfish.core, name) is not None


def test_importing_core_does_not_import_boto3_starlette_or_jinja() -> None:
    code = (
        "import sys, triggerfish.core\n"
        "heavy = [m for m in ('boto3', 'botocore', 'starlette', 'jinja2', 'uvicorn') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_lambda_worker_path_leaves_the_api_models_and_unused_io_unimported() -> None:
    """What an SQS resume imports (docs/performance.md section 5): no API models or views,
    no fetch machinery, integrations, direct-event models or io primitives it does not call."""
    code = (
        "import sys, triggerfish.core, triggerfish.adapters.aws_lambda\n"
        "from triggerfish.core.store.dynamodb import DynamoDBStore\n"
        "from triggerfish.core.dispatch.sqs import SQSDispatcher\n"
        "from triggerfish.core import Client, invoke_trigger\n"
        "off = ['triggerfish.core.' + m for m in ('models', 'views', 'fetch', 'callbacks',\n"
        "       'integrations', 'io.children', 'io.fetch', 'io.event_waits', 'io.requests',\n"
        "       'retry', 'filters')]\n"
        "off += ['triggerfish.adapters.aws_lambda.direct', 'pydantic.type_adapter']\n"
        "print(','.join(m for m in off if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(target), str(ROOT)],
        check=True, capture_output=True,
    )
    (built,) = target.glob("triggerfish-*.whl")
    return built


def test_the_wheel_holds_every_subpackage_and_the_package_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("core", "adapters"):
        for source in (ROOT / folder).rglob("*.py"):
            relative = source.relative_to(ROOT / folder).as_posix()
            assert f"triggerfish/{folder}/{relative}" in names
    assert "triggerfish/core/store/table.json" in names
    assert "triggerfish/core/py.typed" in names
    assert not any(name.startswith(("core/", "adapters/", "tests/")) for name in names)


def test_the_wheel_installs_into_a_clean_venv_and_imports_elsewhere(
    wheel: Path, tmp_path: Path
) -> None:
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([uv, "pip", "install", "-q", "--python", str(python), str(wheel)], check=True)
    out = subprocess.run(
        [str(python), "-c", "import triggerfish.core as c; print(c.Client.__module__)"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    )
    assert out.stdout.strip() == "triggerfish.core.client"
