"""`IO`: what a run function calls (`io.run_task`, `io.wait`, `io.logger`, ...).

It is a thin facade: every call is carried out by the invocation in `engine.py`,
which knows what is recorded and how close the deadline is.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .retry import RetryPolicy

if TYPE_CHECKING:
    from .engine import Invocation

TaskFunction = Callable[[], Any]


class RunLogger:
    """`io.logger`: log lines stored with the run, never written twice by replays."""

    def __init__(self, invocation: Invocation) -> None:
        self._invocation = invocation

    def debug(self, message: str, **fields: Any) -> None:
        """A DEBUG line with optional JSON fields."""
        self._invocation.write_log("DEBUG", message, fields)

    def info(self, message: str, **fields: Any) -> None:
        """An INFO line with optional JSON fields."""
        self._invocation.write_log("INFO", message, fields)

    def warn(self, message: str, **fields: Any) -> None:
        """A WARN line with optional JSON fields."""
        self._invocation.write_log("WARN", message, fields)

    warning = warn

    def error(self, message: str, **fields: Any) -> None:
        """An ERROR line with optional JSON fields."""
        self._invocation.write_log("ERROR", message, fields)


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
            return await self._invocation.run_task(
                key, fn, name=name, retry=retry, icon=icon, properties=properties
            )

    async def wait(
        self, key: str, seconds: float | None = None, *, until: datetime | None = None
    ) -> None:
        """Pauses the run for `seconds`, or until the aware datetime `until`.

        The invocation ends and the run resumes in a later one; no compute is spent waiting.
        """
        async with self._invocation.io_call():
            await self._invocation.wait(key, seconds, until=until)

    async def send_event(
        self, key: str, name: str, payload: Any = None, *, id: str | None = None
    ) -> dict[str, Any]:
        """Sends an event once (as a task), so a replay does not send it again."""
        client = self._invocation.client
        event_id = id or f"{self._invocation.run.id}:{key}"

        async def send() -> dict[str, Any]:
            event = await client.send_event(name, payload, id=event_id)
            return event.model_dump(mode="json")

        result: dict[str, Any] = await self.run_task(key, send, name=f"send {name}", icon="event")
        return result

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
        from .fetch import FetchMessage

        text = body.decode() if isinstance(body, bytes) else body
        message = FetchMessage(
            run_id="", task_id="", key=key, attempt=1, url=url, method=method.upper(),
            headers=headers or {}, body=text, retry=retry,
        )  # fmt: skip
        async with self._invocation.io_call():
            result: dict[str, Any] = await self._invocation.background_fetch(key, message)
        return result
