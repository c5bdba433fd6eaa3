"""deploy/build.py builds a zip that Lambda's Python 3.12 can import on either architecture."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import pytest
from deploy_tools import ROOT, built_artifact, python312

TABLE_DEFINITION = ROOT / "core" / "store" / "table.json"
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024

# The first test of each architecture pays for the real build (pip for Lambda's platform,
# then compiling ~500 modules): on a loaded machine that outlasts the default 120 s.
pytestmark = pytest.mark.timeout(400)


@pytest.fixture(scope="module")
def x86_artifact() -> Path:
    return built_artifact("x86_64")


@pytest.fixture(scope="module")
def arm64_artifact() -> Path:
    return built_artifact("arm64")


def _names(artifact: Path) -> set[str]:
    with zipfile.ZipFile(artifact) as archive:
        return set(archive.namelist())


def test_artifact_holds_the_table_definition_as_package_data(x86_artifact: Path) -> None:
    with zipfile.ZipFile(x86_artifact) as archive:
        packaged = json.loads(archive.read("triggerfish/core/store/table.json"))
    assert packaged == json.loads(TABLE_DEFINITION.read_text())


def test_artifact_holds_every_core_and_adapters_module_of_the_source_tree(
    x86_artifact: Path,
) -> None:
    names = _names(x86_artifact)
    expected = {
        "triggerfish/" + path.relative_to(ROOT).as_posix()
        for folder in ("core", "adapters")
        for path in (ROOT / folder).rglob("*.py")
    }
    assert "triggerfish/adapters/__init__.py" in expected
    assert expected - names == set()


def test_artifact_holds_the_entry_module_and_the_jobs_folder_at_its_root(
    x86_artifact: Path,
) -> None:
    names = _names(x86_artifact)
    assert {"lambda_entry.py", "acme_jobs/__init__.py", "acme_jobs/jobs.py"} <= names


def test_artifact_leaves_out_console_scripts(x86_artifact: Path) -> None:
    assert not [name for name in _names(x86_artifact) if name.startswith("bin/")]


def _pyc_for(source: str) -> str:
    folder, _, module = source.rpartition("/")
    return f"{folder}/__pycache__/{module[:-3]}.cpython-312.pyc".lstrip("/")


def test_artifact_ships_bytecode_for_lambdas_python_only(x86_artifact: Path) -> None:
    names = _names(x86_artifact)
    sources = [name for name in names if name.endswith(".py")]
    bytecode = {name for name in names if name.endswith(".pyc")}
    assert {"lambda_entry.py", "triggerfish/core/engine.py", "acme_jobs/jobs.py"} <= set(sources)
    # Every module has its CPython 3.12 bytecode; the jobs folder's stale 3.11 file is gone.
    assert [source for source in sources if _pyc_for(source) not in bytecode] == []
    assert bytecode == {_pyc_for(source) for source in sources}


def test_bytecode_is_lambdas_magic_unchecked_and_names_the_task_root(x86_artifact: Path) -> None:
    magic = subprocess.run(
        [python312(), "-c", "import importlib.util as u; print(u.MAGIC_NUMBER.hex())"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    with zipfile.ZipFile(x86_artifact) as archive:
        engine = archive.read("triggerfish/core/__pycache__/engine.cpython-312.pyc")
        jobs = archive.read("acme_jobs/__pycache__/jobs.cpython-312.pyc")
    for pyc in (engine, jobs):
        assert pyc[:4].hex() == magic
        # PEP 552 flags: hash-based (bit 0) and not checked against the source (bit 1 clear),
        # so a read-only /var/task never makes the runtime recompile.
        assert int.from_bytes(pyc[4:8], "little") == 0b01
    assert b"/var/task/triggerfish/core/engine.py" in engine
    assert b"/var/task/acme_jobs/jobs.py" in jobs
    assert b"triggerfish-build-" not in engine  # no temporary build path: rebuilds identical


def test_artifact_names_no_temporary_build_path(x86_artifact: Path) -> None:
    with zipfile.ZipFile(x86_artifact) as archive:
        names = archive.namelist()
        records = [archive.read(n).decode() for n in names if n.endswith(".dist-info/RECORD")]
    assert not [name for name in names if name.endswith("/direct_url.json")]
    assert not [record for record in records if "direct_url.json" in record]


def test_artifact_holds_the_lambda_dependencies(x86_artifact: Path) -> None:
    tops = {name.split("/", 1)[0] for name in _names(x86_artifact)}
    assert {"pydantic", "pydantic_core", "mangum", "starlette", "jinja2", "boto3"} <= tops


@pytest.mark.parametrize(
    ("fixture", "machine", "other"),
    [("x86_artifact", "x86_64", "aarch64"), ("arm64_artifact", "aarch64", "x86_64")],
)
def test_compiled_extensions_are_built_for_the_chosen_architecture(
    request: pytest.FixtureRequest, fixture: str, machine: str, other: str
) -> None:
    names = _names(request.getfixturevalue(fixture))
    compiled = [name for name in names if name.endswith(".so")]
    assert f"pydantic_core/_pydantic_core.cpython-312-{machine}-linux-gnu.so" in names
    assert compiled
    assert not [name for name in compiled if other in name]


def test_artifact_fits_lambda_and_is_readable_by_its_sandbox_user(x86_artifact: Path) -> None:
    with zipfile.ZipFile(x86_artifact) as archive:
        infos = archive.infolist()
    assert sum(info.file_size for info in infos) < MAX_UNZIPPED_BYTES
    assert all((info.external_attr >> 16) & 0o444 == 0o444 for info in infos)


def test_artifact_entries_carry_fixed_timestamps_so_rebuilds_are_identical(
    x86_artifact: Path,
) -> None:
    with zipfile.ZipFile(x86_artifact) as archive:
        dates = {info.date_time for info in archive.infolist()}
    assert dates == {(1980, 1, 1, 0, 0, 0)}
