"""What the Lambda build puts at the artifact's root (--jobs) and installs (--requirements)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from deploy_tools import ROOT
from triggerfish.adapters.deploy import build


def build_module() -> ModuleType:
    return build


def test_jobs_may_be_a_package_folder_or_a_single_module(tmp_path: Path) -> None:
    package = tmp_path / "src" / "myjobs"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    single = tmp_path / "solo.py"
    single.write_text("client = None\n")
    target = tmp_path / "artifact"
    target.mkdir()

    build_module().add_app_code(target, [package, single])

    assert (target / "myjobs" / "__init__.py").exists()
    assert (target / "solo.py").read_text() == "client = None\n"
    assert (target / "lambda_entry.py").exists()


def test_a_missing_jobs_path_names_what_is_accepted(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="neither a package folder nor a .py module"):
        build_module().add_app_code(tmp_path, [tmp_path / "nope.txt"])


def test_requirements_come_from_a_requirements_file_or_a_pyproject(tmp_path: Path) -> None:
    listed = tmp_path / "requirements.txt"
    listed.write_text("humanize>=4\n")
    app = tmp_path / "app"
    app.mkdir()
    (app / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "1"\ndependencies = ["tabulate>=0.9", "humanize"]\n'
    )

    arguments = build.read_requirements([listed, app / "pyproject.toml", app])

    assert arguments == ["-r", str(listed), "tabulate>=0.9", "humanize", "tabulate>=0.9",
                         "humanize"]  # fmt: skip


def test_requirements_that_cannot_be_read_say_which_and_why(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="--requirements .*nope.txt' is not a file"):
        build.read_requirements([tmp_path / "nope.txt"])
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "app"\ndynamic = ["version", "dependencies"]\n'
    )
    with pytest.raises(SystemExit, match="dependencies are dynamic"):
        build.read_requirements([tmp_path])


def test_an_editable_install_is_built_from_its_project_folder() -> None:
    # This checkout is installed editable (make install): the artifact gets its wheel.
    assert build.installed_source() == ROOT
