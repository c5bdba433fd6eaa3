"""`io.integrations[name]`: a handle whose calls are cached tasks, never repeated by a replay.

    await io.integrations["github"].run_task("stars", lambda gh: gh.stars("repo"))
    await io.integrations["api"].get("user", "/users/1")     # a key-first task method

An integration is any object; with a ``with_auth(credentials)`` method it is handed over
authenticated (see core/gates.py), with the credentials of the client's auth resolver of
its name or of the stored connection its ``connection`` attribute names. Subclass `Integration` and mark methods with
`@integration_task` to give the handle key-first methods.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class TaskRunner(Protocol):
    """What a handle needs of `io` (core/io imports this module, so not `IO` itself)."""

    @property
    def run_task(self) -> Callable[..., Awaitable[Any]]: ...

_TASK_OPTIONS = "__triggerfish_task__"
TASK_OPTION_NAMES = frozenset({"name", "retry", "icon", "properties"})


def integration_task(
    fn: F | None = None, **task_options: Any
) -> Any:
    """Marks an integration method as a key-first task method of its handle.

    ``@integration_task`` or ``@integration_task(retry=RetryPolicy(3), icon="mail")``: on the
    handle, ``await handle.method(key, *args, **kwargs)`` runs ``method(client, *args,
    **kwargs)`` once as the task `key` (options: name, retry, icon, properties).
    """
    unknown = set(task_options) - TASK_OPTION_NAMES
    if unknown:
        raise TypeError(f"integration_task options are {sorted(TASK_OPTION_NAMES)}, "
                        f"got {sorted(unknown)}")  # fmt: skip

    def mark(method: F) -> F:
        setattr(method, _TASK_OPTIONS, dict(task_options))
        return method

    return mark(fn) if fn is not None else mark


class Integration:
    """A base for integrations: `credentials` set by `with_auth`, key-first task methods.

    `connection` names the stored connection (`client.set_connection(name, credentials)`)
    whose credentials `with_auth` receives when the client has no auth resolver for it.
    """

    credentials: Any = None
    connection: str | None = None

    def with_auth(self, credentials: Any) -> Any:
        """A copy of this integration holding `credentials` (what the auth resolver gave)."""
        authed = copy.copy(self)
        authed.credentials = credentials
        return authed


def task_methods(client: Any) -> dict[str, dict[str, Any]]:
    """The names of `client`'s key-first task methods, with their task options."""
    found: dict[str, dict[str, Any]] = {}
    for name in dir(type(client)):
        if name.startswith("_"):
            continue
        options = getattr(getattr(type(client), name, None), _TASK_OPTIONS, None)
        if isinstance(options, dict):
            found[name] = options
    return found


class IntegrationHandle:
    """`io.integrations[name]`: `run_task(key, fn)` and the integration's key-first methods.

    `client` is the integration object itself (authenticated); a call made on it directly
    is not a task, so a replay repeats it.
    """

    def __init__(self, io: TaskRunner, name: str, client: Any) -> None:
        self._io = io
        self.name = name
        self.client = client
        self._methods = task_methods(client)

    async def run_task(self, key: str, fn: Callable[[Any], Any], **task_options: Any) -> Any:
        """Runs ``fn(client)`` once as the task `key` (a sync fn in a worker thread); replays
        return its recorded output. Options are io.run_task's (name, retry, icon, properties).
        """
        task_options.setdefault("name", f"{self.name}")
        return await self._io.run_task(key, functools.partial(fn, self.client), **task_options)

    def __getattr__(self, attribute: str) -> Any:
        methods = self.__dict__.get("_methods") or {}
        if attribute not in methods:
            raise AttributeError(
                f"integration {self.__dict__.get('name')!r} has no task method {attribute!r}; "
                f"use run_task(key, lambda client: client.{attribute}(...)); task methods: "
                f"{sorted(methods) or 'none'}"
            )
        options = methods[attribute]
        method = getattr(type(self.client), attribute)

        async def call(key: str, *args: Any, **kwargs: Any) -> Any:
            fn = functools.partial(method, self.client, *args, **kwargs)
            defaults = getattr(self.client, "task_options", None) or {}
            task_options = {"name": f"{self.name}.{attribute}", **options, **defaults}
            return await self._io.run_task(key, fn, **task_options)

        call.__name__ = attribute
        call.__doc__ = method.__doc__
        return call

    def __repr__(self) -> str:
        return f"<integration {self.name!r}: {type(self.client).__name__}>"
