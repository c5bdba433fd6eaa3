"""`triggerfish init-deploy`: a serverless.yml and a SAM template.yaml for the app's module.

Both are rendered from the templates beside this module (serverless.yml.in, template.yaml.in),
which are also this repository's own serverless.yml and template.yaml (a test renders them
with `REPOSITORY` and compares). The serverless.yml refers to the INSTALLED triggerfish for
the table definition (core/store/table.json) and the IAM and resources files, by a path from
the service root, so upgrading triggerfish updates them; a SAM template cannot read a file,
so template.yaml holds its own copy, written from the installed package.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

PACKAGE = "triggerfish.adapters.deploy"
TEMPLATES = {"serverless.yml": "serverless.yml.in", "template.yaml": "template.yaml.in"}
_SERVICE_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{0,127}$")
_JOBS_SPEC = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


@dataclass(frozen=True)
class Settings:
    """What differs between two deployments' files: the placeholders of the templates."""

    service: str
    jobs_module: str
    build: str
    where: str
    table: str
    files: str


REPOSITORY = Settings(
    service="triggerfish", jobs_module="examples.jobs:client", build="python deploy/build.py",
    where="this repository's source tree", table="core/store/table.json", files="deploy",
)  # fmt: skip
"""The settings of triggerfish's own serverless.yml and template.yaml."""


def render(name: str, settings: Settings) -> str:
    """The text of `name` (serverless.yml or template.yaml) for these settings."""
    text = resources.files(PACKAGE).joinpath(TEMPLATES[name]).read_text()
    for key, value in asdict(settings).items():
        text = text.replace(f"@@{key}@@", value)
    return text


def _from(root: Path, path: Path) -> str:
    """`path` relative to `root` when it is inside it, else absolute (a venv elsewhere)."""
    path = path.resolve()
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_posix()


def settings_for(
    jobs_module: str,
    root: Path,
    *,
    service: str | None = None,
    build: str | None = None,
) -> Settings:
    """Settings for the app at `root`, pointing at the installed triggerfish's files."""
    if not _JOBS_SPEC.match(jobs_module):
        raise ValueError(f"MODULE:client must look like 'myapp.jobs:client', got {jobs_module!r}")
    service = service or re.sub(r"[^a-zA-Z0-9-]+", "-", root.resolve().name).strip("-")
    if not _SERVICE_NAME.match(service):
        raise ValueError(
            f"service must be letters, digits and '-', starting with a letter, got {service!r}"
        )
    table = Path(str(resources.files("triggerfish.core.store").joinpath("table.json")))
    files = Path(str(resources.files(PACKAGE)))
    package = jobs_module.split(".", 1)[0].split(":", 1)[0]
    return Settings(
        service=service, jobs_module=jobs_module,
        build=build or f"triggerfish build-lambda --jobs {package} --requirements requirements.txt",
        where="the installed triggerfish: run init-deploy again if its venv moves",
        table=_from(root.resolve(), table), files=_from(root.resolve(), files),
    )  # fmt: skip


def init_deploy(settings: Settings, root: Path, *, force: bool = False) -> list[Path]:
    """Write serverless.yml and template.yaml into `root`; never over a file unless `force`."""
    targets = [root / name for name in TEMPLATES]
    existing = [str(path) for path in targets if path.exists()]
    if existing and not force:
        raise FileExistsError(f"{', '.join(existing)} already exist(s); --force overwrites")
    for path in targets:
        path.write_text(render(path.name, settings))
    return targets
