"""What the API commands share: the --url/--api-key options and one JSON request."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from triggerfish.core.settings import ENV_API_KEY, ENV_URL

from .base import CLIError

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT_SECONDS = 30.0


def remote_options() -> argparse.ArgumentParser:
    """The parent parser of every command that talks to a server."""
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
    return remote


def request(args: argparse.Namespace, method: str, path: str, **kwargs: Any) -> Any:
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


def payload(args: argparse.Namespace) -> Any:
    """The JSON argument, parsed; bad JSON is a one-line error."""
    try:
        return json.loads(args.payload)
    except ValueError as exc:
        raise CLIError(f"JSON (the payload) is not valid JSON: {exc}") from exc


def print_json(value: Any) -> int:
    print(json.dumps(value, indent=2))
    return 0
