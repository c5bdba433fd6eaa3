"""`IO`: what a run function calls (`io.run_task`, `io.wait`, `io.logger`, ...).

A thin facade: each io primitive is a module of this package that plugs into the
invocation (core/engine.py, `Invocation`'s plug-in surface). Adding a primitive is one
module here and one method on `IO` that calls it inside ``invocation.io_call()``.

    tasks.py    io.run_task           waits.py   io.wait
    fetch.py    io.background_fetch   events.py  io.send_event
    logs.py     io.logger             records.py shared record shapes (values, wakeable waits)
    event_waits.py  io.wait_for_event requests.py io.wait_for_request
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ..fetch import FetchMessage
from ..retry import RetryPolicy
from . import event_waits, events, fetch, requests, tasks, waits
from .logs import RunLogger
from .tasks import TaskFunction

if TYPE_CHECKING:
    from ..engine import Invocation

__all__ = ["IO", "RunLogger", "TaskFunction"]


class IO:
    """The `io` argument of a run function."""

    def __init__(
        self,
        invocation: Invocation,
        integrations: dict[str, Any],
        *,
        auth: dict[str, Any] | None = None,
    ) -> None:
        self._invocation = invocation
        self.logger = RunLogger(invocation)
        self.integrations = integrations
        self.auth = auth or {}

    async def run_task(
        self,
        key: str,
        fn: TaskFunction,
        *,
        name: str | None = None,
        retry: RetryPolicy | None = None,
        icon: str | None = None,
        properties: list[dict[str, Any]] | None = None,
    ) -> Any:
        """Runs `fn` once for this run and returns its output as JSON data.

        On later invocations the recorded output is returned without calling `fn`; a task
        that failed for good raises the same `TaskFailed` every time. `fn` takes no
        arguments and may be sync or async; `io.run_task` inside it makes a subtask.
        """
        async with self._invocation.io_call():
            return await tasks.run_task(
                self._invocation, key, fn, name=name, retry=retry, icon=icon,
                properties=properties,
            )  # fmt: skip

    async def wait(
        self, key: str, seconds: float | None = None, *, until: datetime | None = None
    ) -> None:
        """Pauses the run for `seconds`, or until the aware datetime `until`.

        The invocation ends and the run resumes in a later one; no compute is spent waiting.
        """
        async with self._invocation.io_call():
            await waits.wait(self._invocation, key, seconds, until=until)

    async def send_event(
        self, key: str, name: str, payload: Any = None, *, id: str | None = None
    ) -> dict[str, Any]:
        """Sends an event once (as a task), so a replay does not send it again."""
        async with self._invocation.io_call():
            return await events.send_event(self._invocation, key, name, payload, id=id)

    async def background_fetch(
        self,
        key: str,
        url: str,
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        body: str | bytes | None = None,
        retry: RetryPolicy | None = None,
    ) -> dict[str, Any]:
        """Fetches `url` once, outside this invocation when the dispatcher has a worker.

        Returns ``{"status", "headers", "body"}``; 5xx and 429 answers fail the attempt, so
        `retry` retries them. The run waits (no compute) while the request is in flight.
        """
        text = body.decode() if isinstance(body, bytes) else body
        message = FetchMessage(
            run_id="", task_id="", key=key, attempt=1, url=url, method=method.upper(),
            headers=headers or {}, body=text, retry=retry,
        )  # fmt: skip
        async with self._invocation.io_call():
            result: dict[str, Any] = await fetch.background_fetch(self._invocation, key, message)
        return result

    async def wait_for_event(
        self,
        key: str,
        name: str,
        *,
        filter: dict[str, Any] | None = None,
        schema: type[BaseModel] | None = None,
        timeout: float | timedelta | None = None,
    ) -> Any:
        """Waits (WAITING, no invocation) for an event `name` matching `filter`, sent after
        the wait began; returns its payload, parsed by `schema` when given.

        After `timeout` (seconds or a timedelta, at most 365 days) raises `WaitTimeout`;
        replays return the same payload or raise the same `WaitTimeout` without waiting.
        """
        async with self._invocation.io_call():
            return await event_waits.wait_for_event(
                self._invocation, key, name, filter=filter, schema=schema, timeout=timeout
            )

    async def wait_for_request(
        self, key: str, fn: Callable[[str], Any], *, timeout: float | timedelta = 3600
    ) -> Any:
        """Calls `fn(url)` once with a one-time callback URL and waits for its first POST.

        Returns the POSTed JSON body; raises `WaitTimeout` after `timeout` seconds.
        """
        async with self._invocation.io_call():
            return await requests.wait_for_request(self._invocation, key, fn, timeout=timeout)
