"""The ``triggerfish`` command: a local dev server, a client of the HTTP API, table set-up.

    triggerfish dev MODULE:client [--host --port --db]   serve the jobs (uvicorn, dashboard)
                        [--no-access-log]
    triggerfish send-event NAME JSON [--id --deliver-after S]  POST /api/events
    triggerfish cancel-event ID                         POST /api/events/{id}/cancel
    triggerfish invoke JOB_ID JSON [--id]               POST /api/jobs/{id}/invoke
    triggerfish runs [--job --status --limit --cursor]  GET /api/runs
    triggerfish run ID                                  one run as a tree of tasks
    triggerfish cancel ID                               POST /api/runs/{id}/cancel
    triggerfish retry ID                                POST /api/runs/{id}/retry
    triggerfish init-table [--table --endpoint-url --region]
    triggerfish replay MODULE:client [--run ID | --job ID --last N] [--json]

The API commands talk to a server at ``--url`` (env TRIGGERFISH_URL) with ``--api-key``
(env TRIGGERFISH_API_KEY). Failures print one ``error:`` line and exit 1, never a
traceback. Heavy imports (httpx, uvicorn, boto3) happen inside the command that needs
them. Reference: docs/cli.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from triggerfish.core.settings import (
    ENV_API_KEY,
    ENV_DB,
    ENV_ENDPOINT_URL,
    ENV_REGION,
    ENV_TABLE,
    ENV_URL,
)

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_REPLAY_LAST = 20
MAX_REPLAY_LAST = 1000


class CLIError(Exception):
    """A failure reported as one ``error: ...`` line and exit status 1."""


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one command; returns the exit status (0 ok, 1 failed, 2 usage)."""
    args = _parser().parse_args(argv)
    try:
        result: int = args.command(args)
    except CLIError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="triggerfish", description="Resumable background jobs: dev server and API client."
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    dev = commands.add_parser("dev", help="serve MODULE:client locally with uvicorn")
    dev.add_argument("target", metavar="MODULE:client", help="e.g. examples.jobs:client")
    dev.add_argument("--host", default=DEFAULT_HOST)
    dev.add_argument("--port", type=int, default=DEFAULT_PORT)
    dev.add_argument(
        "--db", help="SQLite file; replaces the client's own store (default: keep it)"
    )
    dev.add_argument(
        "--no-access-log", dest="access_log", action="store_false",
        help="no uvicorn access line per request (about 20 to 50 us of CPU each)",
    )  # fmt: skip
    dev.set_defaults(command=_dev)

    remote = argparse.ArgumentParser(add_help=False)
    remote.add_argument(
        "--url", default=os.environ.get(ENV_URL) or DEFAULT_URL,
        help=f"the server (env {ENV_URL}, default {DEFAULT_URL})",
    )
    remote.add_argument(
        "--api-key", default=os.environ.get(ENV_API_KEY),
        help=f"the server's API key (env {ENV_API_KEY})",
    )
    remote.add_argument("--json", action="store_true", help="print the server's JSON answer")
    remote.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS,
                        help="seconds to wait for the server")

    send = commands.add_parser("send-event", parents=[remote], help="send an event")
    send.add_argument("name")
    send.add_argument("payload", metavar="JSON", nargs="?", default="null",
                      help="the payload as JSON (default null)")
    send.add_argument("--id", help="idempotency key: resending it starts no new run")
    send.add_argument("--deliver-after", type=float, metavar="SECONDS",
                      help="deliver the event this many seconds from now (cancel-event stops it)")
    send.set_defaults(command=_send_event)

    invoke = commands.add_parser("invoke", parents=[remote], help="start a run of a job")
    invoke.add_argument("job_id")
    invoke.add_argument("payload", metavar="JSON", nargs="?", default="null",
                        help="the payload as JSON (default null)")
    invoke.add_argument("--id", help="run id: invoking again with it starts no new run")
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

    init = commands.add_parser("init-table", help="create the DynamoDB table")
    init.add_argument("--table", default=os.environ.get(ENV_TABLE),
                      help=f"table name (env {ENV_TABLE})")
    init.add_argument("--endpoint-url", default=os.environ.get(ENV_ENDPOINT_URL),
                      help=f"DynamoDB endpoint, e.g. moto or dynalite (env {ENV_ENDPOINT_URL})")
    init.add_argument("--region", default=os.environ.get(ENV_REGION),
                      help=f"AWS region (env {ENV_REGION})")
    init.set_defaults(command=_init_table)

    replay = commands.add_parser(
        "replay", help="check recorded runs against the code on disk (exit 1 on a divergence)"
    )
    replay.add_argument("target", metavar="MODULE:client", help="e.g. examples.jobs:client")
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("--run", action="append", dest="run_ids", metavar="ID",
                       help="a run id (repeatable)")
    which.add_argument("--job", help="replay the latest runs of this job id")
    replay.add_argument("--last", type=int, default=DEFAULT_REPLAY_LAST,
                        help=f"with --job: how many of its newest runs (default {DEFAULT_REPLAY_LAST})")
    replay.add_argument("--json", action="store_true", help="print the reports as JSON")
    replay.set_defaults(command=_replay)
    return parser


# -- dev ----------------------------------------------------------------------------------


def _dev(args: argparse.Namespace) -> int:
    import logging
    import secrets

    from triggerfish.core import SQLiteStore

    if args.db:
        # Before the import, so a `Client.from_env()` module opens this file, not its default.
        os.environ[ENV_DB] = args.db
    client = _load_client(args.target)
    if args.db and not (isinstance(client.store, SQLiteStore) and client.store.path == args.db):
        client.store.close()
        client.store = SQLiteStore(args.db)
    if not client.api_key:
        client.api_key = os.environ.get(ENV_API_KEY) or secrets.token_urlsafe(24)

    try:
        import uvicorn
        from triggerfish.adapters.asgi import create_app
    except ImportError as exc:
        raise CLIError(f"triggerfish dev needs the asgi extra: pip install 'triggerfish[asgi]' "
                       f"({exc})") from exc

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
    package_logger = logging.getLogger("triggerfish")
    package_logger.addHandler(handler)
    package_logger.setLevel(logging.INFO)

    app = create_app(client)
    url = f"http://{args.host}:{args.port}"
    print(f"triggerfish dev: {len(client.jobs)} job(s) of client {client.id!r}, "
          f"store {client.store!r}")
    print(f"  dashboard and API: {url}/  (API reference: {url}/openapi.json)")
    print(f"  API key: {client.api_key}")
    command = sys.argv[0] if os.path.sep in sys.argv[0] else "triggerfish"
    print(f"  try: {ENV_URL}={url} {ENV_API_KEY}={client.api_key} {command} runs", flush=True)
    if not os.environ.get(ENV_API_KEY):
        print(f"  (set {ENV_API_KEY} to keep this key across restarts)", flush=True)
    config = uvicorn.Config(
        app, host=args.host, port=args.port, lifespan="on", access_log=args.access_log,
        http=coalesced_http_protocol(),
    )  # fmt: skip
    server = uvicorn.Server(config)
    _tune_gc()
    server.run()
    return 0


def coalesced_http_protocol() -> type[Any]:
    """uvicorn's HTTP protocol (httptools when installed, else h11, as its "auto") whose
    writes in one turn of the event loop go out as one send: a response's head and body
    are one packet, one system call (uvicorn writes them apart: two sends per request)."""
    import asyncio

    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    class CoalescedHTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            loop = asyncio.get_running_loop()
            super().connection_made(CoalescedWrites(transport, loop))

    return CoalescedHTTPProtocol


class CoalescedWrites:
    """A transport whose writes are joined and sent at the end of the loop's turn (and
    before a close); everything else is the wrapped transport's."""

    def __init__(self, transport: Any, loop: Any) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data)

    def _flush(self) -> None:
        pending = self._pending
        if not pending:
            return
        self._pending = []
        if not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def get_write_buffer_size(self) -> int:
        """The wrapped transport's buffer and what waits for the end of this turn."""
        pending = sum(len(chunk) for chunk in self._pending)
        return int(self._transport.get_write_buffer_size()) + pending

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending = []
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


DEV_GC_THRESHOLD = 10_000
"""Allocations between young-generation collections in `triggerfish dev` (Python's default
is 700): with the default, the cyclic GC took about 0.06 ms of CPU per run under load."""


def _tune_gc() -> None:
    """This process serves runs until stopped: the objects made at startup (modules, models,
    the app) are frozen out of the GC's full collections, and young collections run less
    often. Garbage is still collected; only its scans are fewer (bench/throughput.py)."""
    import gc

    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(DEV_GC_THRESHOLD, middle, old)


def _load_client(spec: str) -> Any:
    """The ``Client`` named ``module:attribute``, importable from the current directory."""
    import importlib

    from triggerfish.core import Client

    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise CLIError(f"MODULE:client must look like 'examples.jobs:client', got {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise CLIError(f"cannot import module {module_name!r}: {exc}") from exc
    except Exception as exc:
        raise CLIError(
            f"importing {module_name!r} failed: {type(exc).__name__}: {exc}"
        ) from exc
    client = getattr(module, attribute, None)
    if not isinstance(client, Client):
        found = "nothing" if client is None else type(client).__name__
        raise CLIError(f"{spec!r} must name a triggerfish Client, found {found}")
    return client


# -- replay ----------------------------------------------------------------------------------


def _replay(args: argparse.Namespace) -> int:
    """Replays recorded runs from the client's store; 0 when all are compatible, else 1."""
    import asyncio

    from triggerfish.core import RunNotFound, StoreError
    from triggerfish.core.replay import replay_run

    if not 1 <= args.last <= MAX_REPLAY_LAST:
        raise CLIError(f"--last must be 1 to {MAX_REPLAY_LAST}, got {args.last}")
    client = _load_client(args.target)

    async def check() -> list[Any]:
        if args.job is not None:
            if args.job not in client.jobs:
                raise CLIError(f"job {args.job!r} is not defined in {args.target}")
            page = await client.list_runs(job_id=args.job, limit=args.last)
            run_ids = [run.id for run in page.runs]
        else:
            run_ids = args.run_ids
        return [await replay_run(client, run_id) for run_id in run_ids]

    try:
        reports = asyncio.run(check())
    except RunNotFound as exc:
        raise CLIError(str(exc)) from exc
    except StoreError as exc:
        raise CLIError(f"cannot read the store: {exc}") from exc
    diverged = [r for r in reports if not r.compatible]
    if args.json:
        print(json.dumps({"compatible": not diverged, "runs": [r.to_json() for r in reports]},
                         indent=2))
    else:
        for report in reports:
            if report.compatible:
                note = " (extended)" if report.extended else ""
                print(f"ok    {report.run_id} ({report.job_id}): {report.replayed} of "
                      f"{report.recorded} records replayed{note}")
            else:
                print(f"DIFF  {report.run_id} ({report.job_id}): {report.divergence}")
        print(f"{len(reports) - len(diverged)} compatible, {len(diverged)} diverged")
    return 1 if diverged else 0


# -- init-table ----------------------------------------------------------------------------


def _init_table(args: argparse.Namespace) -> int:
    if not args.table:
        raise CLIError(f"init-table needs a table name: pass --table or set {ENV_TABLE}")
    try:
        from botocore.exceptions import BotoCoreError, ClientError
        from triggerfish.core import DynamoDBStore, StoreError
    except ImportError as exc:
        raise CLIError(f"init-table needs boto3: pip install 'triggerfish[aws]' ({exc})") from exc
    try:
        store = DynamoDBStore(args.table, endpoint_url=args.endpoint_url, region=args.region)
        created = store.create_table()
    except (StoreError, BotoCoreError, ClientError) as exc:
        raise CLIError(f"cannot create table {args.table!r}: {exc}") from exc
    where = f" at {args.endpoint_url}" if args.endpoint_url else ""
    state = "created" if created else "already exists"
    print(f"table {args.table!r}{where}: {state}")
    return 0


# -- the API commands ------------------------------------------------------------------------


def _request(args: argparse.Namespace, method: str, path: str, **kwargs: Any) -> Any:
    """The JSON answer of one API call; every failure becomes a one-line CLIError."""
    import httpx

    if not args.api_key:
        raise CLIError(f"no API key: pass --api-key or set {ENV_API_KEY} "
                       "(triggerfish dev prints the key when it starts)")
    url = args.url.rstrip("/") + path
    headers = {"Authorization": f"Bearer {args.api_key}"}
    try:
        response = httpx.request(method, url, headers=headers, timeout=args.timeout, **kwargs)
    except httpx.ConnectError as exc:
        raise CLIError(f"cannot connect to {args.url} ({exc}); is the server running? "
                       "Start one with `triggerfish dev MODULE:client`, or pass --url") from exc
    except httpx.TimeoutException as exc:
        raise CLIError(f"{args.url} did not answer within {args.timeout} seconds") from exc
    except httpx.HTTPError as exc:
        raise CLIError(f"request to {url} failed: {exc}") from exc
    if response.status_code == 401:
        raise CLIError(f"401 unauthorized: {args.url} refused the API key; "
                       f"check --api-key or {ENV_API_KEY}")
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 400:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        message = error.get("message") or response.reason_phrase
        raise CLIError(f"{response.status_code} {error.get('code', 'error')}: {message}")
    if not isinstance(body, dict):
        raise CLIError(f"{url} did not answer JSON; is --url the triggerfish server?")
    return body


def _payload(args: argparse.Namespace) -> Any:
    """The JSON argument, parsed; bad JSON is a one-line error."""
    try:
        return json.loads(args.payload)
    except ValueError as exc:
        raise CLIError(f"JSON (the payload) is not valid JSON: {exc}") from exc


def _invoke(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"payload": _payload(args)}
    if args.id:
        body["id"] = args.id
    run = _request(args, "POST", f"/api/jobs/{quote(args.job_id, safe='')}/invoke", json=body)
    if args.json:
        return _print_json(run)
    print(f"run {run['id']} of {run['job_id']}: {run['status']}")
    return 0


def _send_event(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"name": args.name, "payload": _payload(args)}
    if args.id:
        body["id"] = args.id
    if args.deliver_after is not None:
        body["deliver_after"] = args.deliver_after
    event = _request(args, "POST", "/api/events", json=body)
    if args.json:
        return _print_json(event)
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
    page = _request(args, "GET", "/api/runs",
                    params={k: v for k, v in params.items() if v is not None})
    if args.json:
        return _print_json(page)
    rows = [(r["id"], r["job_id"], r["status"], _clock(r["created_at"]),
             _duration(r.get("started_at"), r.get("completed_at"))) for r in page["runs"]]
    _print_table(("ID", "JOB", "STATUS", "CREATED", "DURATION"), rows)
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
    run = _request(args, "GET", f"/api/runs/{quote(args.run_id, safe='')}")
    if args.json:
        return _print_json(run)
    print(render_run(run))
    return 0


def _cancel(args: argparse.Namespace) -> int:
    run = _request(args, "POST", f"/api/runs/{quote(args.run_id, safe='')}/cancel")
    if args.json:
        return _print_json(run)
    if run["status"] == "CANCELED":
        print(f"run {run['id']}: CANCELED")
    else:
        print(f"run {run['id']} had already finished ({run['status']}); nothing changed")
    return 0


def _cancel_event(args: argparse.Namespace) -> int:
    answer = _request(args, "POST", f"/api/events/{quote(args.event_id, safe='')}/cancel")
    if args.json:
        return _print_json(answer)
    if answer["canceled"]:
        print(f"event {answer['id']}: canceled")
    else:
        print(f"event {answer['id']} was already delivered or canceled; nothing changed")
    return 0


def _retry(args: argparse.Namespace) -> int:
    run = _request(args, "POST", f"/api/runs/{quote(args.run_id, safe='')}/retry")
    if args.json:
        return _print_json(run)
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


# -- rendering -------------------------------------------------------------------------------


def render_run(run: dict[str, Any]) -> str:
    """A run as readable text: header, payload, output or error, task tree, logs."""
    lines = [
        f"run {run['id']}  job {run['job_id']} {run.get('job_version') or ''}".rstrip(),
        f"status     {run['status']}",
        f"created    {_clock(run['created_at'])}",
        f"duration   {_duration(run.get('started_at'), run.get('completed_at'))}",
        f"invocations {run.get('invocation_count', 0)}",
        f"payload    {_compact(run.get('payload'))}",
    ]
    usage = run.get("usage") or {}
    if usage.get("invocations"):
        lines.append(
            f"cost       ${run.get('cost_usd', 0.0):.6f} (estimated: "
            f"{usage.get('billed_seconds', 0):.3f} s billed, {usage.get('store_reads', 0)} "
            f"store reads, {usage.get('store_writes', 0)} writes, "
            f"{usage.get('queue_messages', 0)} queue messages, "
            f"{usage.get('blob_requests', 0)} blob requests)"
        )
    if run.get("parent_run_id"):
        lines.append(f"parent     {run['parent_run_id']}")
    if run.get("resume_at"):
        lines.append(f"resumes    {_clock(run['resume_at'])}")
    if run.get("output") is not None:
        lines.append(f"output     {_compact(run['output'])}")
    if run.get("error"):
        lines.append(f"error      {_error(run['error'])}")
    if run.get("statuses"):
        lines.append("statuses")
        for status in run["statuses"]:
            state = f"[{status['state']}] " if status.get("state") else ""
            data = f"  {_compact(status['data'])}" if status.get("data") else ""
            earlier = len(status.get("history") or [])
            lines.append(f"  {status['key']}  {state}{status['label']}{data}"
                         f"{f'  ({earlier} earlier)' if earlier else ''}")
    lines.append("tasks")
    tasks = run.get("tasks") or []
    lines.extend(_tree(tasks, prefix="  ") if tasks else ["  (none)"])
    if run.get("logs"):
        lines.append("logs")
        for log in run["logs"]:
            fields = " ".join(f"{k}={_compact(v)}" for k, v in log.get("fields", {}).items())
            lines.append(f"  {_clock(log['time'])} {log['level'].upper():5} {log['message']}"
                         f"{' ' + fields if fields else ''}")
    return "\n".join(lines)


def _tree(tasks: list[dict[str, Any]], *, prefix: str) -> list[str]:
    lines: list[str] = []
    for index, task in enumerate(tasks):
        last = index == len(tasks) - 1
        label = task["key"] + (" (wait)" if task.get("kind") == "wait" else "")
        detail = [task["status"], _duration(task.get("started_at"), task.get("completed_at"))]
        if task.get("attempts", 0) > 1:
            detail.append(f"{task['attempts']} attempts")
        if task.get("error"):
            detail.append(_error(task["error"]))
        if task.get("child_run_id"):
            detail.append(f"child run {task['child_run_id']}")
        lines.append(f"{prefix}{'└─' if last else '├─'} {label}  {'  '.join(detail)}")
        lines.extend(_tree(task.get("children") or [], prefix=prefix + ("   " if last else "│  ")))
    return lines


def _print_table(header: tuple[str, ...], rows: Sequence[tuple[Any, ...]]) -> None:
    if not rows:
        return
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())


def _print_json(value: Any) -> int:
    print(json.dumps(value, indent=2))
    return 0


def _parse_time(value: str | None) -> datetime | None:
    return None if not value else datetime.fromisoformat(value)


def _clock(value: str | None) -> str:
    moment = _parse_time(value)
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def _duration(started: str | None, completed: str | None) -> str:
    start, end = _parse_time(started), _parse_time(completed)
    if start is None or end is None:
        return "-"
    seconds = (end - start).total_seconds()
    return f"{seconds * 1000:.0f}ms" if seconds < 1 else f"{seconds:.2f}s"


def _error(error: dict[str, Any]) -> str:
    return f"{error.get('type', 'Error')}: {error.get('message', '')}".splitlines()[0]


def _compact(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 3] + "..."


if __name__ == "__main__":
    sys.exit(main())
