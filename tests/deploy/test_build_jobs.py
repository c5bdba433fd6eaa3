"""What deploy/build.py puts at the artifact's root for --jobs: folders and single modules."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from deploy_tools import ROOT


def build_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("triggerfish_build", ROOT / "deploy" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
