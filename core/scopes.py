"""The asyncio scopes an invocation keeps: io calls in flight, and the task whose fn runs.

    IoGate     per invocation: ended? diverged? suspended? and which asyncio tasks are
               inside an io call (so a suspension can let gathered siblings settle)
    IoCall     `Invocation.io_call()`: refuses new io once the invocation stopped
    InTask     `Invocation.in_task(task)`: io calls inside a task's fn are its children
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .errors import Suspend
from .port import ParentTask

if TYPE_CHECKING:
    from .errors import NonDeterminismError
    from .store.base import TaskRecord

__all__ = ["InTask", "IoCall", "IoGate", "current_parent", "traced"]

current_parent: ContextVar[ParentTask | None] = ContextVar("triggerfish_parent", default=None)
"""The task whose fn is running in this asyncio context; None at the top level."""


class IoGate:
    """What every io call of one invocation checks first, and the calls in flight."""

    __slots__ = ("divergence", "has_ended", "io_depth", "suspended")

    def __init__(self) -> None:
        self.has_ended = False
        self.divergence: NonDeterminismError | None = None
        self.suspended: Suspend | None = None
        self.io_depth: dict[asyncio.Task[Any], int] = {}
        """The asyncio tasks inside an io call now, by nesting depth."""

    async def settle(self, timeout: float | None) -> None:
        """Waits for the io calls of other asyncio tasks (siblings in an asyncio.gather) to
        end, at most `timeout` seconds (None: no limit); then cancels those still running."""
        current = asyncio.current_task()
        pending = {t for t in self.io_depth if t is not current and not t.done()}
        if not pending:
            return
        _, still = await asyncio.wait(pending, timeout=None if timeout is None else max(0.0, timeout))
        for task in still:
            task.cancel()
        await asyncio.gather(*still, return_exceptions=True)


class IoCall:
    """`Invocation.io_call()`: a plain async context manager (an `@asynccontextmanager`
    costs a generator and ~3 µs per io call, on every task)."""

    __slots__ = ("_gate", "_task")

    def __init__(self, gate: IoGate) -> None:
        self._gate = gate
        self._task: asyncio.Task[Any] | None = None

    async def __aenter__(self) -> None:
        gate = self._gate
        if gate.has_ended:
            raise Suspend(None, reason="ended")
        if gate.divergence is not None:
            raise gate.divergence
        if gate.suspended is not None:
            raise gate.suspended
        this = self._task = asyncio.current_task()
        if this is not None:
            depth = gate.io_depth
            depth[this] = depth.get(this, 0) + 1

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        this = self._task
        if this is not None:
            depth = self._gate.io_depth
            depth[this] -= 1
            if not depth[this]:
                del depth[this]


@contextmanager
def traced(in_task: InTask, span: AbstractContextManager[None]) -> Iterator[None]:
    """`in_task` with the task's span current inside (core/otel.py)."""
    with in_task, span:
        yield


class InTask:
    """`Invocation.in_task(task)`: sets the parent of the io calls made inside (a class, not
    `@contextmanager`: entered once per task)."""

    __slots__ = ("_running", "_task", "_token")

    def __init__(self, running: dict[str, TaskRecord], task: TaskRecord) -> None:
        self._running = running
        self._task = task

    def __enter__(self) -> None:
        task = self._task
        self._token = current_parent.set(ParentTask(task.id, task.key, task.attempts))
        self._running[task.id] = task

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        current_parent.reset(self._token)
        self._running.pop(self._task.id, None)
