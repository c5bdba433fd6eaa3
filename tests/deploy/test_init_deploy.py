"""A user's own repository deploys with triggerfish's commands alone (issue 21, item 7).

In a temporary folder outside this repository: a tiny app (a jobs package and a
requirements.txt), `triggerfish init-deploy`, `triggerfish build-lambda`, `osls package`
offline and cfn-lint on both templates. The files refer to the installed triggerfish, not
to a clone of it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from deploy_tools import ROOT, cfn_lint, osls
from triggerfish.adapters.deploy.scaffold import REPOSITORY, render

TABLE_DEFINITION = json.loads((ROOT / "core" / "store" / "table.json").read_text())
TRIGGERFISH = Path(sys.executable).with_name("triggerfish")
CFN_LINT_ERROR_BIT = 2

pytestmark = pytest.mark.timeout(600)  # a real build, then osls

APP_JOBS = """
import humanize
from triggerfish.core import Client, invoke_trigger

client = Client.from_env("shop")


@client.define_job(id="size", trigger=invoke_trigger())
async def size(payload, io, ctx):
    return await io.run_task("format", lambda: humanize.naturalsize(payload["bytes"]))
"""


def _run(*command: str | Path, cwd: Path) -> str:
    result = subprocess.run([str(part) for part in command], cwd=cwd, capture_output=True,
                            text=True, timeout=500, check=False)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.parametrize("name", ["serverless.yml", "template.yaml"])
def test_this_repository_s_files_are_the_templates_rendered(name: str) -> None:
    assert (ROOT / name).read_text() == render(name, REPOSITORY)


def test_a_repository_of_its_own_inits_builds_and_packages_a_clean_stack(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    app = tmp_path_factory.mktemp("shop-app")
    assert not app.resolve().is_relative_to(ROOT)
    (app / "shop").mkdir()
    (app / "shop" / "__init__.py").write_text("")
    (app / "shop" / "jobs.py").write_text(APP_JOBS)
    (app / "requirements.txt").write_text("humanize>=4\n")

    said = _run(TRIGGERFISH, "init-deploy", "shop.jobs:client", "--service", "shop", cwd=app)
    assert "triggerfish build-lambda --jobs shop --requirements requirements.txt" in said
    serverless = (app / "serverless.yml").read_text()
    assert "jobsModule: shop.jobs:client" in serverless
    with pytest.raises(AssertionError, match="already exist"):
        _run(TRIGGERFISH, "init-deploy", "shop.jobs:client", cwd=app)

    _run(TRIGGERFISH, "build-lambda", "--jobs", "shop", "--requirements", "requirements.txt",
         "--no-bytecode", cwd=app)  # fmt: skip
    with zipfile.ZipFile(app / "dist" / "lambda" / "triggerfish-x86_64.zip") as archive:
        names = set(archive.namelist())
    assert {"lambda_entry.py", "shop/jobs.py", "humanize/__init__.py", "httpx/__init__.py",
            "triggerfish/core/store/table.json"} <= names  # fmt: skip

    _run(osls(), "package", "--stage", "test", cwd=app)
    packaged = app / ".serverless" / "cloudformation-template-update-stack.json"
    lint = subprocess.run([str(cfn_lint()), str(packaged)], capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert lint.returncode & CFN_LINT_ERROR_BIT == 0, lint.stdout
    resources: dict[str, Any] = json.loads(packaged.read_text())["Resources"]
    table = resources["JobsTable"]["Properties"]
    for key in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes"):
        assert table[key] == TABLE_DEFINITION[key]
    worker = resources["WorkerLambdaFunction"]["Properties"]
    assert worker["FunctionName"] == "shop-test-worker"
    assert worker["Environment"]["Variables"]["TRIGGERFISH_JOBS"] == "shop.jobs:client"
    assert "TRIGGERFISH_BASE_URL" in worker["Environment"]["Variables"]

    sam = subprocess.run([str(cfn_lint()), "template.yaml"], cwd=app, capture_output=True,
                         text=True, timeout=120, check=False)  # fmt: skip
    assert sam.returncode == 0, sam.stdout
    assert "Default: shop.jobs:client" in (app / "template.yaml").read_text()
