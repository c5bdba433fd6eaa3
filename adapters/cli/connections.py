"""The connection commands: store a connection's credentials, list the connections.

    triggerfish set-connection NAME [CREDENTIALS]   PUT /api/connections/{name}
    triggerfish connections                          GET /api/connections

CREDENTIALS is JSON (an object of values) or a bare token; without it (or with ``-``) it
is read from standard input, so a secret need not sit in the shell's history. The server
seals it with its connection key and wakes the runs waiting on the connection.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .base import CLIError
from .remote import print_json, request
from .render import print_table

if TYPE_CHECKING:
    from .base import Commands


def add_parsers(commands: Commands, remote: argparse.ArgumentParser) -> None:
    """set-connection and connections."""
    put = commands.add_parser(
        "set-connection", parents=[remote],
        help="store a connection's credentials (sealed) and wake the runs waiting on it",
    )  # fmt: skip
    put.add_argument("name", metavar="NAME")
    put.add_argument("credentials", metavar="CREDENTIALS", nargs="?", default="-",
                     help="JSON or a bare token; '-' or nothing reads it from stdin")
    put.set_defaults(command=_set_connection)

    listing = commands.add_parser(
        "connections", parents=[remote], help="list connections and whether each is set"
    )
    listing.set_defaults(command=_connections)


def credentials_from(text: str) -> Any:
    """The credentials argument: JSON when it parses, else the text itself (a token)."""
    if text == "-":
        text = sys.stdin.read().strip()
    if not text:
        raise CLIError("CREDENTIALS is empty: give JSON or a token (or pipe it to stdin)")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _set_connection(args: argparse.Namespace) -> int:
    body = {"credentials": credentials_from(args.credentials)}
    answer = request(args, "PUT", f"/api/connections/{quote(args.name, safe='')}", json=body)
    if args.json:
        return print_json(answer)
    woken = answer["woken_run_ids"]
    print(f"connection {answer['name']}: set; {len(woken)} waiting run(s) woken")
    for run_id in woken:
        print(f"  {run_id}")
    return 0


def _connections(args: argparse.Namespace) -> int:
    answer = request(args, "GET", "/api/connections")
    if args.json:
        return print_json(answer)
    rows = [(c["name"], "set" if c["set"] else "NOT SET", ", ".join(c["integrations"]) or "-")
            for c in answer["connections"]]  # fmt: skip
    print_table(("NAME", "STATUS", "USED BY"), rows)
    if not rows:
        print("no connections")
    return 0
