"""Connections: credentials stored once, sealed, handed to the integrations that declare them.

    define_job(..., integrations={"github": GitHub(connection="github")})
    await client.set_connection("github", {"token": "ghp_..."})

    the gate (core/gates.py), for an integration declaring connection="name" (no resolver):
      stored      -> unsealed, given to integration.with_auth(credentials) and io.auth[...]
      not stored  -> index item (name, run) -> run WAITING_ON_CONNECTIONS with no resume
                     time (never polled) -> one more look: a set_connection that read the
                     index before our item was there is seen here, and wakes the run
    set_connection: seal, store -> for each run in the index under the name: wake it (due
                    now, dispatched), drop its item

The store is the truth, as for event waits: any process that sets the connection finds
every waiting run. Credentials are sealed with the client's `connection_key`
(core/sealing.py); a store row never holds them in plain text.
"""

from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .store.base import ConnectionRecord, ConnectionWaitRecord, RunRecord
from .types import RunStatus
from .wakes import wake

if TYPE_CHECKING:
    from .runtime import Runtime

logger = logging.getLogger(__name__)

CONNECTION_NAME_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,100}")
"""Connection names: safe in URLs and store keys as they are."""
MAX_CREDENTIALS_BYTES = 64 * 1024
"""The most a connection's credentials may take, as JSON."""
KEY_SETTING_HINT = (
    "pass Client(connection_key=...) or set TRIGGERFISH_CONNECTION_KEY (make a key with "
    "`python -m triggerfish.core.sealing`)"
)


def check_connection_name(name: Any, *, field: str = "name") -> str:
    """`name` when it is a valid connection name; a ConfigError naming `field` otherwise."""
    if not isinstance(name, str) or not CONNECTION_NAME_PATTERN.fullmatch(name):
        raise ConfigError(
            f"connection {field} must be 1 to 100 letters, digits or . _ - characters, "
            f"got {name!r}"
        )
    return name


def connection_of(integration: Any) -> str | None:
    """The connection an integration declares (its `connection` attribute), else None."""
    name = getattr(integration, "connection", None)
    return name if isinstance(name, str) else None


def credentials_json(credentials: Any) -> str:
    """The credentials as JSON text; a ConfigError naming `credentials` when they cannot be."""
    if credentials is None:
        raise ConfigError("credentials must not be None: give a token or a mapping of values")
    try:
        text = json.dumps(credentials, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"credentials must be JSON data (str, number, list, dict): {exc}") from None
    if len(text.encode()) > MAX_CREDENTIALS_BYTES:
        raise ConfigError(f"credentials must be at most {MAX_CREDENTIALS_BYTES} bytes as JSON, "
                          f"got {len(text.encode())}")  # fmt: skip
    return text


def _key(runtime: Runtime, doing: str) -> bytes:
    if runtime.connection_key is None:
        raise ConfigError(f"{doing} needs a connection_key to seal credentials: {KEY_SETTING_HINT}")
    return runtime.connection_key


async def set_connection(runtime: Runtime, name: str, credentials: Any) -> list[str]:
    """Stores the sealed credentials under `name` and wakes the runs waiting on it.

    Returns the ids of the runs woken. Checks everything before writing anything.
    """
    from .sealing import seal

    check_connection_name(name)
    text = credentials_json(credentials)
    key = _key(runtime, "set_connection")
    sealed = seal(key, name, text)
    now = runtime.clock.time()
    current: ConnectionRecord | None = await runtime.call(runtime.store.get_connection, name)
    record = ConnectionRecord(
        name=name, sealed=sealed, created_at=current.created_at if current else now,
        updated_at=max(now, current.updated_at) if current else now,
    )  # fmt: skip
    if not await runtime.call(runtime.store.put_connection, record):
        logger.info("connection %s: a later write was stored first; kept", name)
    woken: list[str] = []
    waits: list[ConnectionWaitRecord] = await runtime.call(
        runtime.store.list_connection_waits, name
    )
    for wait in waits:
        run: RunRecord | None = await runtime.call(runtime.store.get_run, wait.run_id)
        if run is not None and _is_still_waiting(run):
            await wake(runtime, wait.run_id, now)
            woken.append(wait.run_id)
        await runtime.call(runtime.store.delete_connection_wait, name, wait.run_id)
    logger.info("connection %s set; %d waiting runs woken", name, len(woken))
    return woken


def _is_still_waiting(run: RunRecord) -> bool:
    """Whether an indexed run may still wait on its connection: not finished, and not gone
    on to another wait (an item left behind, its setter stopped before deleting it)."""
    return not run.status.is_final and run.status is not RunStatus.WAITING


async def read_connection(runtime: Runtime, name: str) -> Any | None:
    """The unsealed credentials of a stored connection; None when it is not stored.

    A ConfigError when no connection_key is set or the stored value does not open with it.
    """
    record: ConnectionRecord | None = await runtime.call(runtime.store.get_connection, name)
    if record is None:
        return None
    from .sealing import unseal

    return json.loads(unseal(_key(runtime, f"reading connection {name!r}"), name, record.sealed))


async def wait_for_connection(runtime: Runtime, name: str, run_id: str) -> None:
    """Puts the run in the connection-wait index under `name` (before it ends WAITING)."""
    wait = ConnectionWaitRecord(name=name, run_id=run_id, created_at=runtime.clock.time())
    await runtime.call(runtime.store.put_connection_wait, wait)


async def recheck_connection(runtime: Runtime, name: str, run_id: str) -> None:
    """After the run ended WAITING_ON_CONNECTIONS: wakes it if the connection was set meanwhile."""
    stored = await runtime.call(runtime.store.get_connection, name)
    if stored is not None:
        await wake(runtime, run_id, runtime.clock.time())
        await runtime.call(runtime.store.delete_connection_wait, name, run_id)


async def list_connections(runtime: Runtime) -> list[dict[str, Any]]:
    """Every connection the jobs declare or the store holds: ``{"name", "set", "updated_at",
    "integrations"}`` by name, where `integrations` lists ``"job/integration"`` users; the
    credentials are never part of it."""
    declared: dict[str, list[str]] = {}
    for job in runtime.jobs.values():
        for integration_name, integration in job.integrations.items():
            name = connection_of(integration)
            if name is not None:
                declared.setdefault(name, []).append(f"{job.id}/{integration_name}")
    stored: list[ConnectionRecord] = await runtime.call(runtime.store.list_connections)
    by_name = {record.name: record for record in stored}
    return [
        {
            "name": name,
            "set": name in by_name,
            "updated_at": by_name[name].updated_at if name in by_name else None,
            "integrations": declared.get(name, []),
        }
        for name in sorted(set(declared) | set(by_name))
    ]
