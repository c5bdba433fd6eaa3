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
    triggerfish set-connection NAME [CREDENTIALS]       PUT /api/connections/{name}
    triggerfish connections                             GET /api/connections
    triggerfish init-table [--table --endpoint-url --region]
    triggerfish replay MODULE:client [--run ID | --job ID --last N] [--json]

The API commands talk to a server at ``--url`` (env TRIGGERFISH_URL) with ``--api-key``
(env TRIGGERFISH_API_KEY). Failures print one ``error:`` line and exit 1, never a
traceback. Heavy imports (httpx, uvicorn, boto3) happen inside the command that needs
them. Reference: docs/cli.md.

One module per command group: `dev` (the local server and its write coalescing), `runs`
(the API commands, over `remote`, printed by `render`), `connections`, `table` (init-table) and `replay`;
`main` builds the parser and dispatches.
"""

from __future__ import annotations

from .base import CLIError, load_client
from .dev import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEV_GC_THRESHOLD,
    CoalescedWrites,
    coalesced_http_protocol,
)
from .main import build_parser, main
from .remote import DEFAULT_TIMEOUT_SECONDS, DEFAULT_URL
from .render import render_run
from .replay import DEFAULT_REPLAY_LAST, MAX_REPLAY_LAST

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "DEFAULT_REPLAY_LAST",
    "DEFAULT_TIMEOUT_SECONDS",
    "DEFAULT_URL",
    "DEV_GC_THRESHOLD",
    "MAX_REPLAY_LAST",
    "CLIError",
    "CoalescedWrites",
    "build_parser",
    "coalesced_http_protocol",
    "load_client",
    "main",
    "render_run",
]
