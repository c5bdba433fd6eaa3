"""`triggerfish dev`: the jobs behind uvicorn, with the dashboard, for a laptop.

Its HTTP protocol joins the writes of one loop turn into one send (`CoalescedWrites`),
and the process tunes its garbage collector for a long-lived server (bench/throughput.py).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from triggerfish.core.settings import ENV_API_KEY, ENV_DB, ENV_URL

from .base import CLIError, load_client

if TYPE_CHECKING:
    from .base import Commands

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def add_parser(commands: Commands) -> None:
    """`dev MODULE:client [--host --port --db --no-access-log]`."""
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
    dev.add_argument(
        "--reload", action="store_true",
        help="restart the server when a .py file under the current folder changes",
    )  # fmt: skip
    dev.set_defaults(command=_dev)


RELOAD_TARGET_ENV = "TRIGGERFISH_DEV_TARGET"
"""How `--reload` names MODULE:client to each restarted server process (a spawned child)."""


def _prepared_client(target: str, db: str | None) -> Any:
    """The user's client on `db` (when given), with an API key."""
    import secrets

    from triggerfish.core import SQLiteStore

    if db:
        # Before the import, so a `Client.from_env()` module opens this file, not its default.
        os.environ[ENV_DB] = db
    client = load_client(target)
    if db and not (isinstance(client.store, SQLiteStore) and client.store.path == db):
        client.store.close()
        client.store = SQLiteStore(db)
    if not client.api_key:
        # Kept in the environment, so a server restarted by --reload keeps the same key.
        client.api_key = os.environ.setdefault(ENV_API_KEY, secrets.token_urlsafe(24))
    return client


def _log_to_stderr() -> None:
    import logging

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
    package_logger = logging.getLogger("triggerfish")
    package_logger.addHandler(handler)
    package_logger.setLevel(logging.INFO)


def reloaded_app() -> Any:
    """The app of one server process under `--reload` (uvicorn's factory, re-imported on
    each restart, so the jobs module is read afresh). Its lifespan starts a
    LocalDispatcher that recovers unfinished runs; the previous process's shutdown waited
    for its invocations and released their leases, so they resume here at once."""
    from triggerfish.adapters.asgi import create_app

    _log_to_stderr()
    client = _prepared_client(os.environ[RELOAD_TARGET_ENV], os.environ.get(ENV_DB))
    print(f"triggerfish dev: (re)started with {len(client.jobs)} job(s) of client "
          f"{client.id!r}", flush=True)  # fmt: skip
    return create_app(client)


def _dev(args: argparse.Namespace) -> int:
    key_given = bool(os.environ.get(ENV_API_KEY))
    client = _prepared_client(args.target, args.db)

    try:
        import uvicorn
        from triggerfish.adapters.asgi import create_app
    except ImportError as exc:
        raise CLIError(f"triggerfish dev needs the asgi extra: pip install 'triggerfish[asgi]' "
                       f"({exc})") from exc

    _log_to_stderr()
    url = f"http://{args.host}:{args.port}"
    print(f"triggerfish dev: {len(client.jobs)} job(s) of client {client.id!r}, "
          f"store {client.store!r}")
    print(f"  dashboard and API: {url}/  (API reference: {url}/openapi.json)")
    print(f"  API key: {client.api_key}")
    command = sys.argv[0] if os.path.sep in sys.argv[0] else "triggerfish"
    print(f"  try: {ENV_URL}={url} {ENV_API_KEY}={client.api_key} {command} runs", flush=True)
    if not key_given:
        print(f"  (set {ENV_API_KEY} to keep this key across restarts)", flush=True)
    if args.reload:
        # uvicorn's reloader (watchfiles) runs each server in a fresh child process that
        # builds the app from `reloaded_app`; on a change it stops the child gracefully
        # (SIGTERM: the lifespan's shutdown stops the dispatcher) and starts another.
        client.store.close()
        os.environ[RELOAD_TARGET_ENV] = args.target
        if args.db:
            os.environ[ENV_DB] = args.db
        print(f"  reloading: watching {os.getcwd()} for changes", flush=True)
        uvicorn.run(
            f"{__name__}:reloaded_app", factory=True, host=args.host, port=args.port,
            lifespan="on", access_log=args.access_log, reload=True, reload_dirs=[os.getcwd()],
        )  # fmt: skip
        return 0
    config = uvicorn.Config(
        create_app(client), host=args.host, port=args.port, lifespan="on",
        access_log=args.access_log, http=coalesced_http_protocol(),
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
