"""The argument parser and the dispatch: each command group adds its own subcommands.

A new group of commands is a module beside this one with an `add_parser(commands)` (or,
when it talks to a server, `add_parsers(commands, remote)`), listed in `build_parser`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from triggerfish.core.version import version_text

from . import connections, deploy, dev, fleet, replay, runs, table
from .base import CLIError
from .remote import remote_options


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one command; returns the exit status (0 ok, 1 failed, 2 usage)."""
    args = build_parser().parse_args(argv)
    try:
        result: int = args.command(args)
    except CLIError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return result


def build_parser() -> argparse.ArgumentParser:
    """Every command, in the order `triggerfish --help` lists them."""
    parser = argparse.ArgumentParser(
        prog="triggerfish", description="Resumable background jobs: dev server and API client."
    )
    parser.add_argument("--version", action="version", version=version_text())
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    dev.add_parser(commands)
    runs.add_parsers(commands, remote_options())
    connections.add_parsers(commands, remote_options())
    fleet.add_parsers(commands, remote_options())
    table.add_parser(commands)
    replay.add_parser(commands)
    deploy.add_parser(commands)
    return parser
