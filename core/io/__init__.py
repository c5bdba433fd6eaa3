"""`IO`: what a run function calls (`io.run_task`, `io.wait`, `io.logger`, ...).

A thin facade: each io primitive is a module of this package that plugs into the
invocation through `Port` (core/port.py, which the engine implements). Adding a primitive is one
module here and one method on `IO` that calls it inside ``invocation.io_call()``.

    tasks.py    io.run_task           waits.py   io.wait
    fetch.py    io.background_fetch   events.py  io.send_event(s), get_event, cancel_event
    logs.py     io.logger             records.py shared record shapes (values, wakeable waits)
    event_waits.py  io.wait_for_event requests.py io.wait_for_request
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from . import statuses, tasks, waits
from .logs import RunLogger
from .statuses import RunStatusHandle
from .tasks import TaskFunction
from .timeouts import checked_timeout

if TYPE_CHECKING:
    from pydantic import BaseModel

    from ..integrations.base import IntegrationHandle
    from ..models import Event
    from ..port import Port
    from ..retry import RetryPolicy
    from ..serdes import Serdes

# The other primitives (fetch, events, values, parallel, children, event and request waits)
# are imported by their method on first use: a worker's cold start loads only what its
# jobs call.

__all__ = ["IO", "RunLogger", "RunStatusHandle", "TaskFunction"]


class IO:
    """The `io` argument of a run function."""

    def __init__(
        self,
        invocation: Port,
        integrations: dict[str, Any],
        *,
        auth: dict[str, Any] | None = None,
    ) -> None:
        self._invocation = invocation
        self.logger = RunLogger(invocation)
        self.integrations: dict[str, IntegrationHandle] = {}
        if integrations:
            from ..integrations.base import IntegrationHandle

            self.integrations = {
                name: IntegrationHandle(self, name, client) for name, client in integrations.items()
            }
        """Each integration's handle: `run_task(key, fn)` and its key-first task methods."""
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
        at_most_once: bool = False,
        timeout: float | timedelta | None = None,
        serdes: Serdes | None = None,
        redact: Mapping[str, Any] | None = None,
    ) -> Any:
        """Runs `fn` once for this run and returns its output.

        On later invocations the recorded output is returned without calling `fn`; a task
        that failed for good raises the same `TaskFailed` every time. `fn` takes no
        argument, or one: the `TaskContext` (key, attempt, run id, an idempotency key
        stable across attempts and replays); it may be sync or async; `io.run_task`
        inside it makes a subtask.
        `at_most_once=True` writes a start record first: an attempt cut short by a crash
        is a failed attempt (`TaskInterrupted`), retried only as `retry` allows.
        `timeout` (seconds or a timedelta): an attempt that runs longer fails, retried as
        `retry` allows, then `TaskTimeout`; a sync fn's thread runs on, its result dropped.
        `serdes` stores the output (default: the client's, else JSON keeping datetime,
        Decimal, UUID, bytes, tuple, set and pydantic models); `redact={"paths": [...]}`
        stores those paths as "[REDACTED]" (this run gets the whole output; replays the
        stored one).
        """
        options = name is not None or icon is not None or retry is not None or properties is not None
        if options or not callable(fn):  # the common call (fn alone, callable) skips the call
            _check_task_options(key, fn, name=name, retry=retry, icon=icon, properties=properties)
        elif timeout is None and serdes is None and redact is None and not at_most_once:
            return await tasks.run_plain_task(self._invocation, key, fn)
        seconds = None if timeout is None else checked_timeout(key, timeout)
        redaction = None
        if serdes is not None or redact is not None:
            from ..redact import Redaction
            from ..serdes import check_serdes

            check_serdes(serdes, field=f"io.run_task {key!r}: serdes")
            redaction = Redaction.parse(redact, where=f"io.run_task {key!r}")
        with self._invocation.io_call():
            return await tasks.run_task(
                self._invocation, key, fn, name=name, retry=retry, icon=icon,
                properties=properties, at_most_once=at_most_once, timeout=seconds,
                serdes=serdes, redact=redaction,
            )  # fmt: skip

    async def wait(
        self, key: str, seconds: float | timedelta | None = None, *, until: datetime | None = None
    ) -> None:
        """Pauses the run for `seconds` (0 to 365 days, or a timedelta), or until the aware
        datetime `until` (one already past returns at once); other values raise ValueError.

        The invocation ends and the run resumes in a later one; no compute is spent waiting.
        """
        async with self._invocation.io_call():
            await waits.wait(self._invocation, key, seconds, until=until)

    async def send_event(
        self,
        key: str,
        name: str,
        payload: Any = None,
        *,
        id: str | None = None,
        deliver_at: datetime | None = None,
        deliver_after: float | timedelta | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Sends an event once (as a task), so a replay does not send it again.

        Its id is ``<run id>:<key>`` unless given. `deliver_at` (an aware datetime) or
        `deliver_after` (seconds or a timedelta) delays it; `context` (a JSON object) is
        `ctx.event.context` in the runs it starts. Returns the event as JSON data.
        """
        from . import events

        async with self._invocation.io_call():
            return await events.send_event(
                self._invocation, key, name, payload, id=id, deliver_at=deliver_at,
                deliver_after=deliver_after, context=context,
            )  # fmt: skip

    async def send_events(
        self,
        key: str,
        events: Sequence[Mapping[str, Any]],
        *,
        deliver_at: datetime | None = None,
        deliver_after: float | timedelta | None = None,
    ) -> list[dict[str, Any]]:
        """Sends several events in one task: each a dict with ``name``, ``payload`` and an
        optional ``id`` (default ``<run id>:<key>:<index>``) and ``context``.

        Returns the events as JSON data, in order; a replay sends nothing again.
        """
        from . import events as events_io

        async with self._invocation.io_call():
            return await events_io.send_events(
                self._invocation, key, events, deliver_at=deliver_at, deliver_after=deliver_after
            )

    async def get_event(self, key: str, id: str) -> dict[str, Any]:
        """The event with this id as it was when first read (a task), with ``runs``: the
        id, status, started_at and completed_at of each run it started.

        An unknown id fails the task: `TaskFailed` whose error type is EventNotFound.
        """
        from . import events

        async with self._invocation.io_call():
            return await events.get_event(self._invocation, key, id)

    async def cancel_event(self, key: str, id: str) -> dict[str, Any]:
        """Cancels a delayed event not yet delivered (a task); returns the event, whose
        ``status`` is ``canceled`` unless it was already delivered."""
        from . import events

        async with self._invocation.io_call():
            return await events.cancel_event(self._invocation, key, id)

    async def background_fetch(
        self,
        key: str,
        url: str,
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        body: str | bytes | None = None,
        retry: RetryPolicy | Mapping[str, RetryPolicy | dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Fetches `url` once, outside this invocation when the dispatcher has a worker.

        Returns ``{"status", "headers", "body", "body_base64", "json"}``: `body` is the text
        (None for a binary answer, then in `body_base64`), `json` the parsed JSON answer.
        A bytes `body` is sent as given. 5xx and 429 answers fail the attempt. `retry` is a
        RetryPolicy (5xx, 429 and network errors retried) or, as in v2, a mapping of status
        patterns ("429", "500-599", "5xx", "all") to a RetryPolicy or a dict of its fields:
        a matched status is retried by its policy, an unmatched one is not retried
        (core/fetch_retry.py). The run waits (no compute) while the request is in flight.
        """
        from ..fetch_retry import checked_fetch_retry

        checked = checked_fetch_retry(retry, where=f"background_fetch {key!r}")
        from ..fetch import FETCH_SCHEMES, FetchMessage
        from . import fetch

        if not isinstance(url, str) or not url.lower().startswith(FETCH_SCHEMES):
            raise ConfigError(
                f"background_fetch {key!r}: url must start with http:// or https://, got {url!r}"
            )
        message = FetchMessage(
            run_id="", task_id="", key=key, attempt=1, url=url, method=method.upper(),
            headers=headers or {}, retry=checked, **FetchMessage.encode_body(body),
        )  # fmt: skip
        async with self._invocation.io_call():
            result: dict[str, Any] = await fetch.background_fetch(self._invocation, key, message)
        return result

    async def random(
        self, key: str, *, min: float = 0.0, max: float = 1.0, round: bool = False
    ) -> float | int:
        """A random number in [min, max) (an int in [min, max] with `round`), recorded once."""
        from . import values

        async with self._invocation.io_call():
            return await values.random(self._invocation, key, min=min, max=max, round=round)

    async def now(self, key: str) -> datetime:
        """The time of the first call at `key` (an aware UTC datetime), the same on replay."""
        from . import values

        async with self._invocation.io_call():
            return await values.now(self._invocation, key)

    async def parallel(
        self,
        key: str,
        items: Iterable[Any] | Mapping[str, Any],
        fn: Callable[[Any], Any],
        *,
        max_concurrency: int | None = None,
        min_successful: int | None = None,
        tolerated_failures: int | None = None,
        tolerated_failure_ratio: float | None = None,
        serdes: Serdes | None = None,
    ) -> Any:
        """`fn(item)` for each item as subtasks of task `key`: "0", "1", ... for a list, the
        keys of a dict. Returns the outputs in item order (a dict by key for a dict).

        At most `max_concurrency` items run at once; a failing item makes the parent raise
        `TaskFailed` naming its key once the others in flight have settled. With a
        completion policy (`min_successful`, `tolerated_failures`, `tolerated_failure_ratio`)
        returns a `BatchResult` instead and raises nothing for failed items; items not
        started once the outcome is decided are never started. `serdes` stores each
        item's output. Replays return the same result without running anything.
        """
        from . import parallel as parallel_io

        if serdes is not None:
            from ..serdes import check_serdes

            check_serdes(serdes, field=f"io.parallel {key!r}: serdes")
        async with self._invocation.io_call():
            return await parallel_io.parallel(
                self._invocation, key, items, fn, max_concurrency=max_concurrency,
                min_successful=min_successful, tolerated_failures=tolerated_failures,
                tolerated_failure_ratio=tolerated_failure_ratio, serdes=serdes,
            )  # fmt: skip

    async def invoke_and_wait(
        self,
        key: str,
        job_id: str,
        payload: Any = None,
        *,
        raise_on_failure: bool = True,
        serdes: Serdes | None = None,
    ) -> Any:
        """Starts a run of `job_id` once and waits (holding no invocation) for its end.

        Returns the child's output; a child that fails, is canceled or times out raises
        `TaskFailed` whose error names the child run id and its status. `serdes` (else the
        client's) writes the payload sent (as JSON text) and reads the child's output. With
        `raise_on_failure=False` returns v2's shape instead: ``{"ok": True, "output": ...}``
        or ``{"ok": False, "error": {...}}``.
        """
        from . import children

        if serdes is not None:
            from ..serdes import check_serdes

            check_serdes(serdes, field=f"io.invoke_and_wait {key!r}: serdes")
        async with self._invocation.io_call():
            if not raise_on_failure:
                return await children.invoke_and_wait_result(self._invocation, key, job_id,
                                                             payload, serdes=serdes)  # fmt: skip
            return await children.invoke_and_wait(
                self._invocation, key, job_id, payload, serdes=serdes
            )

    async def invoke(
        self,
        key: str,
        job_id: str,
        payload: Any = None,
        *,
        id: str | None = None,
        callback_url: str | None = None,
    ) -> dict[str, str]:
        """Starts a run of `job_id` once (a task) and goes on; returns ``{"id": run_id}``.

        `id` names the run (idempotent: a run that exists under it is not started again).
        With `callback_url`, the finished run is POSTed there as JSON ``{"id", "status",
        "output" | "error"}``, at least once (core/run_callbacks.py).
        """
        from . import children

        async with self._invocation.io_call():
            return await children.invoke(self._invocation, key, job_id, payload, id=id,
                                         callback_url=callback_url)  # fmt: skip

    async def create_status(
        self,
        key: str,
        *,
        label: str,
        state: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> RunStatusHandle:
        """A status shown on the run (`Run.statuses`); `await status.update(key, ...)` changes it.

        `state` is one of "loading", "success", "failure" (or None); `data` a JSON object.
        """
        async with self._invocation.io_call():
            return await statuses.create_status(
                self._invocation, key, label=label, state=state, data=data
            )

    async def wait_for_event(
        self,
        key: str,
        name: str,
        *,
        filter: dict[str, Any] | None = None,
        schema: type[BaseModel] | None = None,
        timeout: float | timedelta = 3600,
    ) -> Event:
        """Waits (WAITING, no invocation) for an event `name` matching `filter`, sent after
        the wait began; returns the `Event` (id, name, payload, timestamp, context), its
        payload parsed by `schema` when given.

        After `timeout` (seconds or a timedelta, at most 365 days; one hour by default, as
        in v2; None is refused) raises `WaitTimeout`; replays return the same event or
        raise the same `WaitTimeout` without waiting.
        """
        from . import event_waits

        async with self._invocation.io_call():
            return await event_waits.wait_for_event(
                self._invocation, key, name, filter=filter, schema=schema, timeout=timeout
            )

    async def wait_for_request(
        self,
        key: str,
        fn: Callable[[str], Any],
        *,
        timeout: float | timedelta = 3600,
        heartbeat_timeout: float | timedelta | None = None,
    ) -> Any:
        """Calls `fn(url)` once with a one-time callback URL and waits for its first POST.

        Returns the POSTed JSON body; raises `WaitTimeout` after `timeout` seconds, or when
        `heartbeat_timeout` seconds pass without a ``POST {url}/heartbeat``; raises
        `CallbackFailed` (`.error` = the posted ``{type, message}``) after ``POST {url}/fail``.
        """
        from . import requests

        async with self._invocation.io_call():
            return await requests.wait_for_request(
                self._invocation, key, fn, timeout=timeout, heartbeat_timeout=heartbeat_timeout
            )


def _is_retry_policy(value: object) -> bool:
    from ..retry import RetryPolicy  # loaded on the first task given a retry, not at import

    return isinstance(value, RetryPolicy)


def _check_task_options(
    key: object, fn: object, *, name: object, retry: object, icon: object, properties: object
) -> None:
    """A ConfigError naming the option, before anything is recorded: a record with a bad
    `name`, `icon` or `properties` would make the run unreadable (get_run, the API)."""
    if not callable(fn):
        raise ConfigError(f"io.run_task {key!r}: fn must be a callable taking no argument or"
                          f" a TaskContext, got {type(fn).__name__}")  # fmt: skip
    if name is None and icon is None and retry is None and properties is None:
        return  # the common call: nothing more to check
    where = f"io.run_task {key!r}"
    for option, value in (("name", name), ("icon", icon)):
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{where}: {option} must be a str or None, got {value!r}")
    if retry is not None and not _is_retry_policy(retry):
        raise ConfigError(f"{where}: retry must be a RetryPolicy or None, got {retry!r}")
    if properties is not None and not (
        isinstance(properties, list) and all(isinstance(p, dict) for p in properties)
    ):
        raise ConfigError(
            f"{where}: properties must be a list of dicts or None, got {properties!r}"
        )
    if properties is not None:
        try:
            json.dumps(properties, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: properties must be JSON data ({exc})") from None
