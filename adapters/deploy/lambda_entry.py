"""The Lambda handler of serverless.yml: triggerfish's handler for the jobs in TRIGGERFISH_JOBS.

deploy/build.py copies this file to the root of the artifact as ``lambda_entry.py``, so the
api, worker and ticker functions all name ``lambda_entry.handler``; the adapter routes each
event by its shape (DESIGN.md, Adapters). The user's module is named once, in
serverless.yml, as ``module:attribute`` of a ``Client`` (``examples.jobs:client``).

The handler is built on the first event rather than at import, so importing this module
needs neither the variable nor the jobs, and a bad name fails the invocation with a
message that says which name and why. That build (triggerfish, the jobs module, boto3 and
pydantic as it imports them, the clients) runs without the cyclic garbage collector and
freezes what it made: docs/performance.md, section 5.
"""

from __future__ import annotations

import gc
import importlib
import os
import random
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

ENV_JOBS = "TRIGGERFISH_JOBS"
"""triggerfish.core.settings.ENV_JOBS, without importing triggerfish before the build."""


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection inside, then everything alive is frozen out of it.

    Importing boto3, pydantic and triggerfish allocates hundreds of thousands of objects
    that live as long as the process; the collector would scan them again and again as
    they pile up (about 40 ms of CPU on a cold start here, and more at the first events).
    `gc.freeze()` moves them to the permanent generation, never scanned: a warm
    invocation's collections see only what it allocates.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.enable()


def _config_error(message: str) -> Exception:
    from triggerfish.core.errors import ConfigError

    return ConfigError(message)


def load_client(spec: str) -> Any:
    """Import ``module:attribute`` and return the attribute (the user's ``Client``)."""
    module_name, _, attribute = spec.strip().partition(":")
    if not module_name or not attribute:
        raise _config_error(f"{ENV_JOBS} must be 'module:attribute', got {spec!r}")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attribute)
    except AttributeError as exc:
        raise _config_error(
            f"{ENV_JOBS}={spec!r}: module {module_name!r} has no attribute {attribute!r}"
        ) from exc


@cache
def _build_handler() -> Callable[[dict[str, Any], Any], Any]:
    """Build the adapter's handler once per container; later events reuse it."""
    spec = os.environ.get(ENV_JOBS)
    if not spec:
        raise _config_error(f"{ENV_JOBS} is not set; serverless.yml sets it from jobsModule")
    with collector_paused():
        client = load_client(spec)
        from triggerfish.adapters.aws_lambda import create_handler

        return create_handler(client)


def handler(event: dict[str, Any], context: Any) -> Any:
    """Answer one Lambda event (HTTP, SQS, schedule or direct) with triggerfish's handler."""
    return _build_handler()(event, context)


def before_snapshot() -> None:
    """SnapStart: import the jobs and build the handler now, so the snapshot holds them."""
    _build_handler()


def after_restore() -> None:
    """SnapStart: every restored copy gets its own randomness and its own connections.

    `random` is re-seeded (uuid4 and secrets read os.urandom, already unique per copy);
    the boto3 clients of the store and dispatcher drop their pooled connections, which the
    snapshot froze and every copy would otherwise share, and open new ones on next use.
    """
    random.seed()
    client = load_client(os.environ.get(ENV_JOBS, "")) if os.environ.get(ENV_JOBS) else None
    for part in (getattr(client, "store", None), getattr(client, "dispatcher", None)):
        for value in getattr(part, "__dict__", {}).values():
            session = getattr(getattr(value, "_endpoint", None), "http_session", None)
            if session is not None:
                session.close()


def register_snapstart_hooks() -> bool:
    """Registers the hooks when Lambda initializes this function for a SnapStart snapshot.

    `snapshot_restore_py` ships in Lambda's Python runtimes (3.12+); elsewhere nothing runs.
    """
    if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") != "snap-start":
        return False
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        return False
    register_before_snapshot(before_snapshot)
    register_after_restore(after_restore)
    return True


register_snapstart_hooks()
