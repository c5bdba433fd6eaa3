"""The fleet commands (issue 19): pause and resume a job; more in later items.

Each is one request to the server's HTTP API (docs/api.md) and a line of text, or the
server's JSON answer with --json.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING
from urllib.parse import quote

from .remote import print_json, request

if TYPE_CHECKING:
    from .base import Commands


def add_parsers(commands: Commands, remote: argparse.ArgumentParser) -> None:
    """pause and resume."""
    pause = commands.add_parser(
        "pause", parents=[remote], help="pause a job: new runs wait QUEUED, running ones stop"
        " at their next invocation",
    )  # fmt: skip
    pause.add_argument("job_id", metavar="JOB")
    pause.set_defaults(command=_pause, action="pause")

    resume = commands.add_parser(
        "resume", parents=[remote], help="resume a paused job; its queued runs start in order"
    )
    resume.add_argument("job_id", metavar="JOB")
    resume.set_defaults(command=_pause, action="resume")


def _pause(args: argparse.Namespace) -> int:
    answer = request(args, "POST", f"/api/jobs/{quote(args.job_id, safe='')}/{args.action}")
    if args.json:
        return print_json(answer)
    state = "paused" if answer["paused"] else "running"
    note = "" if answer["changed"] else f" (it was {state} already)"
    print(f"job {answer['job_id']}: {state}{note}")
    return 0
