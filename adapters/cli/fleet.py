"""The fleet commands (issue 19): pause and resume a job, cancel or retry runs by filter,
list, create, pause, resume and delete schedules.

Each is one request to the server's HTTP API (docs/api.md) and a line of text, or the
server's JSON answer with --json.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .base import CLIError
from .remote import print_json, request
from .render import print_table

if TYPE_CHECKING:
    from .base import Commands


def add_parsers(commands: Commands, remote: argparse.ArgumentParser) -> None:
    """pause, resume, cancel-runs, retry-runs and the schedule commands."""
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

    listing = commands.add_parser("schedules", parents=[remote],
                                  help="list schedules (declared and stored)")  # fmt: skip
    listing.add_argument("--job", help="only the schedules of this job id")
    listing.set_defaults(command=_schedules)

    create = commands.add_parser("create-schedule", parents=[remote],
                                 help="store a schedule that starts runs of a job")  # fmt: skip
    create.add_argument("job_id", metavar="JOB")
    every = create.add_mutually_exclusive_group(required=True)
    every.add_argument("--cron", metavar="EXPR", help="a cron expression, e.g. '0 9 * * MON'")
    every.add_argument("--interval", type=float, metavar="SECONDS", help="seconds between runs")
    create.add_argument("--timezone", help="IANA time zone of --cron (default UTC)")
    create.add_argument("--payload", metavar="JSON", help="a JSON object each run's payload starts from")
    create.add_argument("--id", help="an id of your own: creating it again updates it")
    create.set_defaults(command=_create_schedule)

    for name, help_text in (("pause-schedule", "stop a stored schedule firing"),
                            ("resume-schedule", "let a paused schedule fire again"),
                            ("delete-schedule", "delete a stored schedule")):  # fmt: skip
        one = commands.add_parser(name, parents=[remote], help=help_text)
        one.add_argument("schedule_id", metavar="ID")
        one.set_defaults(command=_one_schedule, action=name.removesuffix("-schedule"))


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


def _describe(schedule: dict[str, Any]) -> str:
    if schedule.get("cron"):
        zone = f" ({schedule['timezone']})" if schedule.get("timezone") else ""
        return f"cron {schedule['cron']}{zone}"
    return f"every {schedule['interval']:g}s"


def _schedules(args: argparse.Namespace) -> int:
    params = {"job": args.job} if args.job else {}
    answer = request(args, "GET", "/api/schedules", params={**params, "count": 1})
    if args.json:
        return print_json(answer)
    rows = [(s["id"], s["job_id"], _describe(s), "paused" if s["paused"] else (s["next_at"] or ""),
             "declared" if s.get("declared") else "stored") for s in answer["schedules"]]  # fmt: skip
    print_table(("ID", "JOB", "WHEN", "NEXT", "KIND"), rows)
    if not rows:
        print("no schedules")
    return 0


def _create_schedule(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"job_id": args.job_id}
    for name in ("cron", "interval", "timezone", "id"):
        if getattr(args, name) is not None:
            body[name] = getattr(args, name)
    if args.payload is not None:
        try:
            body["payload"] = json.loads(args.payload)
        except ValueError as exc:
            raise CLIError(f"--payload is not valid JSON: {exc}") from exc
    schedule = request(args, "POST", "/api/schedules", json=body)
    if args.json:
        return print_json(schedule)
    print(f"schedule {schedule['id']} of {schedule['job_id']}: {_describe(schedule)}, "
          f"next {schedule['next_at']}")  # fmt: skip
    return 0


def _one_schedule(args: argparse.Namespace) -> int:
    path = f"/api/schedules/{quote(args.schedule_id, safe='')}"
    if args.action == "delete":
        answer = request(args, "DELETE", path)
        if args.json:
            return print_json(answer)
        print(f"schedule {answer['id']}: deleted")
        return 0
    schedule = request(args, "POST", f"{path}/{args.action}")
    if args.json:
        return print_json(schedule)
    state = "paused" if schedule["paused"] else f"next {schedule['next_at']}"
    print(f"schedule {schedule['id']}: {state}")
    return 0
