"""The API commands: send and cancel events, start, list, show, cancel and retry runs.

Each is one request to the server's HTTP API (docs/api.md) and a few lines of text, or
the server's JSON answer with --json.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from triggerfish.core.errors import ConfigError
from triggerfish.core.ids import check_id

from .remote import payload, print_json, request
from .render import clock, duration, print_table, render_run

if TYPE_CHECKING:
    from .base import Commands


def add_parsers(commands: Commands, remote: argparse.ArgumentParser) -> None:
    """send-event, invoke, runs, run, cancel, cancel-event and retry, in that order."""
    send = commands.add_parser("send-event", parents=[remote], help="send an event")
    send.add_argument("name")
    send.add_argument("payload", metavar="JSON", nargs="?", default="null",
                      help="the payload as JSON (default null)")
    send.add_argument("--id", type=_event_id,
                      help="idempotency key: resending it starts no new run")
    send.add_argument("--deliver-after", type=float, metavar="SECONDS",
                      help="deliver the event this many seconds from now (cancel-event stops it)")
    send.set_defaults(command=_send_event)

    invoke = commands.add_parser("invoke", parents=[remote], help="start a run of a job")
    invoke.add_argument("job_id")
    invoke.add_argument("payload", metavar="JSON", nargs="?", default="null",
                        help="the payload as JSON (default null)")
    invoke.add_argument("--id", type=_run_id,
                        help="run id: invoking again with it starts no new run")
    invoke.set_defaults(command=_invoke)

    runs = commands.add_parser("runs", parents=[remote], help="list runs, newest first")
    runs.add_argument("--job", help="only runs of this job id")
    runs.add_argument("--status", help="only runs with this status (e.g. WAITING)")
    runs.add_argument("--limit", type=int, default=20)
    runs.add_argument("--cursor", help="next page: the cursor the previous page printed")
    runs.set_defaults(command=_runs)

    run = commands.add_parser("run", parents=[remote], help="show one run as a task tree")
    run.add_argument("run_id", metavar="ID")
    run.set_defaults(command=_run)

    cancel = commands.add_parser("cancel", parents=[remote], help="cancel a run")
    cancel.add_argument("run_id", metavar="ID")
    cancel.set_defaults(command=_cancel)

    cancel_event = commands.add_parser(
        "cancel-event", parents=[remote], help="cancel a delayed event not yet delivered"
    )
    cancel_event.add_argument("event_id", metavar="ID")
    cancel_event.set_defaults(command=_cancel_event)

    retry = commands.add_parser(
        "retry", parents=[remote], help="continue a FAILED or TIMED_OUT run from its failure"
    )
    retry.add_argument("run_id", metavar="ID")
    retry.set_defaults(command=_retry)


def _invoke(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"payload": payload(args)}
    if args.id is not None:
        body["id"] = args.id
    run = request(args, "POST", f"/api/jobs/{quote(args.job_id, safe='')}/invoke", json=body)
    if args.json:
        return print_json(run)
    print(f"run {run['id']} of {run['job_id']}: {run['status']}")
    return 0


def _checked_id(value: str, field: str) -> str:
    """The id when it follows the one rule (core/ids.py), before any request is made."""
    try:
        return check_id(value, field=field)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _event_id(value: str) -> str:
    return _checked_id(value, "send-event --id")


def _run_id(value: str) -> str:
    return _checked_id(value, "invoke --id")


def _send_event(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"name": args.name, "payload": payload(args)}
    if args.id is not None:
        body["id"] = args.id
    if args.deliver_after is not None:
        body["deliver_after"] = args.deliver_after
    event = request(args, "POST", "/api/events", json=body)
    if args.json:
        return print_json(event)
    if event.get("status") == "pending":
        print(f"event {event['id']} ({event['name']}) is delivered at {event['deliver_at']}")
        return 0
    print(f"event {event['id']} ({event['name']}) started {len(event['run_ids'])} run(s)")
    if not event["run_ids"]:
        print(f"note: no enabled job listens to {event['name']!r} (check the name: "
              "`triggerfish runs` and GET /api/jobs list the jobs)")
    for run_id in event["run_ids"]:
        print(f"  {run_id}")
    return 0


def _runs(args: argparse.Namespace) -> int:
    params = {"limit": args.limit, "job": args.job, "status": args.status, "cursor": args.cursor}
    page = request(args, "GET", "/api/runs",
                   params={k: v for k, v in params.items() if v is not None})
    if args.json:
        return print_json(page)
    rows = [(r["id"], r["job_id"], r["status"], clock(r["created_at"]),
             duration(r.get("started_at"), r.get("completed_at"))) for r in page["runs"]]
    print_table(("ID", "JOB", "STATUS", "CREATED", "DURATION"), rows)
    if not rows:
        print("no runs")
    if page.get("next_cursor"):
        same = "".join(
            f" --{name} {value}"
            for name, value in (("job", args.job), ("status", args.status), ("limit", args.limit))
            if value
        )
        print(f"more: triggerfish runs{same} --cursor {page['next_cursor']}")
    return 0


def _run(args: argparse.Namespace) -> int:
    run = request(args, "GET", f"/api/runs/{quote(args.run_id, safe='')}")
    if args.json:
        return print_json(run)
    print(render_run(run))
    return 0


def _cancel(args: argparse.Namespace) -> int:
    run = request(args, "POST", f"/api/runs/{quote(args.run_id, safe='')}/cancel")
    if args.json:
        return print_json(run)
    if run["status"] == "CANCELED":
        print(f"run {run['id']}: CANCELED")
    else:
        print(f"run {run['id']} had already finished ({run['status']}); nothing changed")
    return 0


def _cancel_event(args: argparse.Namespace) -> int:
    answer = request(args, "POST", f"/api/events/{quote(args.event_id, safe='')}/cancel")
    if args.json:
        return print_json(answer)
    if answer["canceled"]:
        print(f"event {answer['id']}: canceled")
    else:
        print(f"event {answer['id']} was already delivered or canceled; nothing changed")
    return 0


def _retry(args: argparse.Namespace) -> int:
    run = request(args, "POST", f"/api/runs/{quote(args.run_id, safe='')}/retry")
    if args.json:
        return print_json(run)
    retried = [t["key"] for t in _walk(run.get("tasks") or []) if t.get("status") == "WAITING"]
    shown = ", ".join(retried) if retried else "none"
    print(f"run {run['id']}: {run['status']} (failed tasks tried afresh: {shown})")
    return 0


def _walk(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every task of a tree, depth first."""
    found: list[dict[str, Any]] = []
    for task in tasks:
        found.append(task)
        found.extend(_walk(task.get("children") or []))
    return found
