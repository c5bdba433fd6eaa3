"""`triggerfish init-deploy` and `triggerfish build-lambda`: deploy from the app's repository.

    triggerfish init-deploy myapp.jobs:client      # serverless.yml + template.yaml, here
    triggerfish build-lambda --jobs myapp -r requirements.txt
    npx osls deploy --stage dev                    # or: sam deploy --template-file template.yaml

Neither imports the app: init-deploy writes the module's name into the files, and the
build copies the jobs folder (issue 21, item 7).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from .base import CLIError

if TYPE_CHECKING:
    from .base import Commands


def add_parser(commands: Commands) -> None:
    """`init-deploy MODULE:client [--service --dir --force]` and `build-lambda [...]`."""
    from triggerfish.adapters.deploy.build import add_arguments

    init = commands.add_parser(
        "init-deploy", help="write serverless.yml and template.yaml for MODULE:client"
    )
    init.add_argument("target", metavar="MODULE:client", help="e.g. myapp.jobs:client")
    init.add_argument("--service", help="the stack's service name (default: the folder's name)")
    init.add_argument("--dir", type=Path, default=Path("."), help="where to write (default: .)")
    init.add_argument("--force", action="store_true", help="overwrite existing files")
    init.set_defaults(command=_init_deploy)

    build = commands.add_parser(
        "build-lambda", help="build the Lambda zip: triggerfish, your requirements and jobs"
    )
    add_arguments(build, default_jobs=None)
    build.set_defaults(command=_build_lambda)


def _init_deploy(args: argparse.Namespace) -> int:
    from triggerfish.adapters.deploy.scaffold import init_deploy, settings_for

    try:
        settings = settings_for(args.target, args.dir, service=args.service)
        written = init_deploy(settings, args.dir, force=args.force)
    except (ValueError, FileExistsError) as exc:
        raise CLIError(str(exc)) from exc
    for path in written:
        print(f"wrote {path}")
    print(f"service {settings.service!r}, jobs {settings.jobs_module}; next:\n"
          f"  {settings.build}\n  npx osls deploy --stage dev   (or: sam deploy --guided"
          " --template-file template.yaml)")  # fmt: skip
    return 0


def _build_lambda(args: argparse.Namespace) -> int:
    from triggerfish.adapters.deploy.build import build_from_arguments

    if not args.jobs:
        raise CLIError("build-lambda needs --jobs FOLDER: your jobs package or .py module")
    build_from_arguments(args)
    return 0
