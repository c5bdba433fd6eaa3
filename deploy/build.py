"""Build this repository's Lambda artifact: dist/lambda/triggerfish-<arch>.zip.

Usage: python deploy/build.py [--arch x86_64|arm64] [--jobs examples] [--requirements FILE]
[--out dist/lambda]

The build itself is triggerfish.adapters.deploy.build (`triggerfish build-lambda` in a
user's repository); this script builds triggerfish from this source tree rather than from
where it is installed, with examples/ as the default jobs folder.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from triggerfish.adapters.deploy.build import DEFAULT_OUT_DIR, add_arguments, build_from_arguments

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and build from this repository."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_arguments(parser, default_jobs="examples")
    parser.set_defaults(out=ROOT / DEFAULT_OUT_DIR)
    args = parser.parse_args(argv)
    args.jobs = args.jobs or [ROOT / "examples"]
    build_from_arguments(args, project=ROOT)


if __name__ == "__main__":
    main()
