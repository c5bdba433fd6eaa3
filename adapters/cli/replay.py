"""`triggerfish replay`: recorded runs checked against the code on disk (core/replay.py)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from .base import CLIError, load_client

if TYPE_CHECKING:
    from .base import Commands

DEFAULT_REPLAY_LAST = 20
MAX_REPLAY_LAST = 1000


def add_parser(commands: Commands) -> None:
    """`replay MODULE:client (--run ID ... | --job ID [--last N]) [--json]`."""
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


def _replay(args: argparse.Namespace) -> int:
    """Replays recorded runs from the client's store; 0 when all are compatible, else 1."""
    import asyncio

    from triggerfish.core import RunNotFound, StoreError
    from triggerfish.core.replay import replay_run

    if not 1 <= args.last <= MAX_REPLAY_LAST:
        raise CLIError(f"--last must be 1 to {MAX_REPLAY_LAST}, got {args.last}")
    client = load_client(args.target)

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
