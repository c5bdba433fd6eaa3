"""The fleet commands (issue 19): pause and resume a job, cancel or retry runs by filter.

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
    """pause, resume, cancel-runs and retry-runs."""
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

    for name, verb, help_text in (
        ("cancel-runs", "cancel", "cancel every unfinished run a filter matches"),
        ("retry-runs", "retry", "retry every FAILED or TIMED_OUT run a filter matches"),
    ):
        bulk = commands.add_parser(name, parents=[remote], help=help_text)
        bulk.add_argument("--job", help="only runs of this job id")
        bulk.add_argument("--status", action="append", metavar="STATUS",
                          help="only runs with this status (repeat for several)")
        bulk.add_argument("--created-before", metavar="TIME",
                          help="only runs created before this ISO 8601 time (UTC without offset)")
        bulk.add_argument("--created-after", metavar="TIME",
                          help="only runs created after this ISO 8601 time (UTC without offset)")
        bulk.add_argument("--limit", type=int, help="the most runs acted on (default and most: 1000)")
        bulk.set_defaults(command=_bulk, action=verb)


def _pause(args: argparse.Namespace) -> int:
    answer = request(args, "POST", f"/api/jobs/{quote(args.job_id, safe='')}/{args.action}")
    if args.json:
        return print_json(answer)
    state = "paused" if answer["paused"] else "running"
    note = "" if answer["changed"] else f" (it was {state} already)"
    print(f"job {answer['job_id']}: {state}{note}")
    return 0


def _bulk(args: argparse.Namespace) -> int:
    fields = {"job_id": args.job, "status": args.status, "limit": args.limit,
              "created_before": args.created_before, "created_after": args.created_after}  # fmt: skip
    body = {name: value for name, value in fields.items() if value is not None}
    answer = request(args, "POST", f"/api/runs/{args.action}", json=body)
    if args.json:
        return print_json(answer)
    done = "canceled" if args.action == "cancel" else "retried"
    print(f"{len(answer['run_ids'])} run(s) {done}")
    for run_id in answer["run_ids"]:
        print(f"  {run_id}")
    return 0
