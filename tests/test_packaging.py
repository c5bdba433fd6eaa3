"""The distribution: its public names, its lazy imports, and what the wheel really holds.

The wheel and the sdist are built once per session with `python -m build` (the wheel from
the sdist, so a file the sdist forgets fails here too); the install tests put that wheel,
not the checkout, into clean venvs with one extra each (issue 20).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import uuid
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import pytest
import triggerfish.core
from support.servers import free_port, wait_for_port
from triggerfish.core.version import __version__, version_text

ROOT = Path(__file__).resolve().parents[1]
SQS_EVENT = ROOT / "tests" / "adapters" / "aws_lambda" / "events" / "sqs_single.json"
API_KEY = "wheel-test-key"


def test_all_lists_exactly_the_public_names() -> None:
    public = {
        name for name in vars(triggerfish.core)
        if not name.startswith("_") and not isinstance(getattr(triggerfish.core, name), type(sys))
        and name not in {"annotations", "TYPE_CHECKING", "Any"}
    }
    lazy = {"DynamoDBStore", "SQSDispatcher", "SQLiteStore", "RetryPolicy",  # on first use
            "Event", "LogLine", "Run", "RunList", "Schedule", "Status", "StatusValue",
            "Task"}  # fmt: skip
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
    no fetch machinery, integrations, direct-event models or io primitives it does not call,
    no sealing of connections (cryptography)."""
    code = (
        "import sys, triggerfish.core, triggerfish.adapters.aws_lambda\n"
        "from triggerfish.core.store.dynamodb import DynamoDBStore\n"
        "from triggerfish.core.dispatch.sqs import SQSDispatcher\n"
        "from triggerfish.core import Client, invoke_trigger\n"
        "off = ['triggerfish.core.' + m for m in ('models', 'views', 'fetch', 'callbacks',\n"
        "       'integrations', 'io.children', 'io.fetch', 'io.event_waits', 'io.requests',\n"
        "       'retry', 'filters', 'sealing')]\n"
        "off += ['triggerfish.adapters.aws_lambda.direct', 'pydantic.type_adapter', 'cryptography']\n"
        "print(','.join(m for m in off if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """`python -m build` of the checkout, once: {"wheel": ..., "sdist": ...}."""
    target = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(target), str(ROOT)],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (wheel,) = target.glob("triggerfish-*.whl")
    (sdist,) = target.glob("triggerfish-*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


@pytest.fixture(scope="session")
def wheel(dist: dict[str, Path]) -> Path:
    return dist["wheel"]


def _uv() -> str:
    return shutil.which("uv") or str(Path(sys.executable).with_name("uv"))


def _venv_with(wheel: Path, where: Path, extra: str | None) -> Path:
    """A clean venv holding only the wheel (and one extra); returns its python."""
    venv = where / "venv"
    subprocess.run([_uv(), "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    requirement = f"{wheel}[{extra}]" if extra else str(wheel)
    subprocess.run(
        [_uv(), "pip", "install", "-q", "--python", str(python), requirement], check=True
    )
    return python


def _outside_environ(**variables: str) -> dict[str, str]:
    """This process's environment without TRIGGERFISH_*, AWS_* or PYTHONPATH, plus these."""
    environ = {
        name: value for name, value in os.environ.items()
        if not name.startswith(("TRIGGERFISH_", "AWS_")) and name != "PYTHONPATH"
    }  # fmt: skip
    environ.update(variables)
    return environ


def test_build_makes_a_wheel_and_an_sdist_that_twine_accepts(dist: dict[str, Path]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(dist["wheel"]), str(dist["sdist"])],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2


def test_the_wheel_holds_every_subpackage_and_the_package_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("core", "adapters"):
        for source in (ROOT / folder).rglob("*.py"):
            relative = source.relative_to(ROOT / folder).as_posix()
            assert f"triggerfish/{folder}/{relative}" in names
    assert "triggerfish/core/store/table.json" in names
    assert "triggerfish/core/py.typed" in names
    assert "triggerfish/adapters/py.typed" in names
    assert not any(name.startswith(("core/", "adapters/", "tests/")) for name in names)


def test_the_version_is_written_once_and_read_everywhere(dist: dict[str, Path]) -> None:
    """core/version.py is the one place: the metadata, the module and the changelog agree."""
    with zipfile.ZipFile(dist["wheel"]) as archive:
        (meta,) = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
        wheel_metadata = archive.read(meta).decode()
    assert f"\nVersion: {__version__}\n" in wheel_metadata
    assert dist["sdist"].name == f"triggerfish-{__version__}.tar.gz"
    assert triggerfish.core.__version__ == __version__ == metadata.version("triggerfish")
    project = (ROOT / "pyproject.toml").read_text().split("[project]", 1)[1].split("\n[", 1)[0]
    assert re.search(r"^version\s*=", project, re.MULTILINE) is None
    assert f"## [{__version__}]" in (ROOT / "CHANGELOG.md").read_text()
    assert version_text().startswith(f"triggerfish {__version__} (Python 3.")


def test_the_wheel_installs_into_a_clean_venv_and_imports_elsewhere(
    wheel: Path, tmp_path: Path
) -> None:
    python = _venv_with(wheel, tmp_path, None)
    out = subprocess.run(
        [str(python), "-c", "import triggerfish.core as c; print(c.Client.__module__, c.__version__)"],
        cwd=tmp_path, capture_output=True, text=True, check=True, env=_outside_environ(),
    )  # fmt: skip
    assert out.stdout.split() == ["triggerfish.core.client", __version__]


LAMBDA_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import triggerfish.core
    from triggerfish.adapters.aws_lambda import create_handler
    from triggerfish.core import Client, invoke_trigger

    client = Client.from_env("shop")

    @client.define_job("greet", trigger=invoke_trigger())
    async def greet(payload, io, ctx):
        return await io.run_task("compose", lambda: "hello " + payload["name"])

    class Context:
        aws_request_id = "req-wheel"
        def get_remaining_time_in_millis(self):
            return 30_000

    record = json.load(open(sys.argv[1]))
    result = create_handler(client)({"Records": [record]}, Context())
    print(json.dumps({"result": result, "module": triggerfish.core.__file__}))
    """
)


def _shop_client(moto_url: str, table: str, queue_url: str) -> Any:
    """The sender's side: the same job, a store on moto's table and its queue."""
    from triggerfish.core import Client, DynamoDBStore, SQSDispatcher, invoke_trigger

    client = Client(
        "shop",
        store=DynamoDBStore(table, endpoint_url=moto_url, region="us-east-1"),
        dispatcher=SQSDispatcher(queue_url, endpoint_url=moto_url, region="us-east-1"),
    )
    client.define_job("greet", trigger=invoke_trigger(), run=lambda payload, io, ctx: None)
    return client


def test_the_wheel_with_only_the_lambda_extra_answers_an_sqs_resume_on_moto(
    wheel: Path, tmp_path: Path, moto_url: str
) -> None:
    import boto3

    python = _venv_with(wheel, tmp_path, "lambda")
    table = f"shop-{uuid.uuid4().hex[:8]}"
    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName=table)["QueueUrl"]
    client = _shop_client(moto_url, table, queue_url)
    client.store.create_table()
    run = asyncio.run(client.invoke("greet", {"name": "Ada"}))

    (message,) = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)["Messages"]
    record = json.loads(SQS_EVENT.read_text())["Records"][0]
    record.update(messageId=message["MessageId"], receiptHandle=message["ReceiptHandle"],
                  body=message["Body"], awsRegion="us-east-1")  # fmt: skip
    (tmp_path / "record.json").write_text(json.dumps(record))
    done = subprocess.run(
        [str(python), "-c", LAMBDA_SCRIPT, str(tmp_path / "record.json")],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
        env=_outside_environ(
            TRIGGERFISH_TABLE=table, TRIGGERFISH_QUEUE_URL=queue_url,
            TRIGGERFISH_ENDPOINT_URL=moto_url, TRIGGERFISH_REGION="us-east-1",
            AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
        ),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["result"] == {"batchItemFailures": []}
    assert answer["module"].startswith(str(tmp_path / "venv"))
    finished = asyncio.run(client.get_run(run.id))
    assert (finished.status.value, finished.output) == ("COMPLETED", "hello Ada")


ASGI_APP = textwrap.dedent(
    f"""
    from triggerfish.adapters.asgi import create_app
    from triggerfish.core import Client, SQLiteStore, invoke_trigger

    client = Client("shop", store=SQLiteStore("runs.db"), api_key={API_KEY!r})

    @client.define_job("greet", trigger=invoke_trigger())
    async def greet(payload, io, ctx):
        return "hello " + payload["name"]

    app = create_app(client)
    """
)


def test_the_wheel_with_only_the_asgi_extra_serves_a_request_under_uvicorn(
    wheel: Path, tmp_path: Path
) -> None:
    python = _venv_with(wheel, tmp_path, "asgi")
    (tmp_path / "shop_app.py").write_text(ASGI_APP)
    port = free_port()
    server = subprocess.Popen(
        [str(python), "-m", "uvicorn", "shop_app:app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=tmp_path, env=_outside_environ(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_for_port(port)
        answer = httpx.post(
            f"http://127.0.0.1:{port}/api/jobs/greet/invoke", json={"payload": {"name": "Ada"}},
            headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30,
        )  # fmt: skip
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert answer.status_code == 202, (answer.text, errors)
    assert answer.json()["job_id"] == "greet"
    boto3_check = subprocess.run(
        [str(python), "-c", "import importlib.util as u; print(u.find_spec('boto3') is None)"],
        capture_output=True, text=True, check=True, env=_outside_environ(),
    )  # fmt: skip
    assert boto3_check.stdout.strip() == "True"
