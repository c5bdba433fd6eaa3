"""The asyncio scopes an invocation keeps: io calls in flight, and the task whose fn runs.

    IoGate     per invocation: ended? diverged? suspended? and which asyncio tasks are
               inside an io call (so a suspension can let gathered siblings settle)
    IoCall     `Invocation.io_call()`: refuses new io once the invocation stopped, but
               for the rest of the loop turn in which a wait suspended it (see below)
    InTask     `Invocation.in_task(task)`: io calls inside a task's fn are its children

A wait's suspension and its gathered siblings (issue 16 item 12):

    asyncio.gather(io.wait("w", ...), io.run_task("t", fn))
      loop turn 1:  [w's first step, t's first step]  <- both ready, in that order
        w: records WAITING, suspends   -> the gate holds the door open, closing it with a
                                          call_soon queued behind t's first step
        t: enters its io call           -> let in: it was reached in the same turn
      loop turn 1': the door closes     -> any later io call raises the suspension

On DynamoDB the wait's write yields to the loop (a thread), so t was in before the
suspension anyway; an in-process store (SQLite) answers without yielding, and t used to
be refused. The task that suspended is never let in (code that swallows its Suspend
cannot go on), nor is anything after a suspension other than a wait (lease lost,
canceled, a yield). Only the refusal's slow path pays: the hot path's checks are the same.
"""

from __future__ import annotations

import asyncio
import sys
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

_current_tasks: dict[Any, asyncio.Task[Any]] | None = (
    getattr(asyncio.tasks, "_current_tasks", None) if sys.version_info < (3, 12) else None
)
"""On 3.11, the dict `asyncio.current_task` (Python there) reads, kept by the C tasks: read
directly on every io call. From 3.12 `asyncio.current_task` is C itself."""
_running_loop = asyncio.get_running_loop

current_parent: ContextVar[ParentTask | None] = ContextVar("triggerfish_parent", default=None)
"""The task whose fn is running in this asyncio context; None at the top level."""


class IoGate:
    """What every io call of one invocation checks first, and the calls in flight."""

    __slots__ = (
        "divergence", "door_open", "has_ended", "io_depth", "main", "suspended", "suspender",
    )  # fmt: skip

    def __init__(self) -> None:
        self.has_ended = False
        self.divergence: NonDeterminismError | None = None
        self.suspended: Suspend | None = None
        self.io_depth: dict[asyncio.Task[Any], int] = {}
        """The asyncio tasks inside an io call now, by nesting depth (not `main`)."""
        self.main: asyncio.Task[Any] | None = None
        """The asyncio task the run function runs in: the one that settles, so its own io
        calls are never waited for and need no count (its sequential tasks: the hot path)."""
        self.door_open = False
        """True for the rest of the loop turn in which a wait suspended the invocation."""
        self.suspender: asyncio.Task[Any] | None = None

    def suspend(self, resume_at: float | None, reason: str) -> Suspend:
        """The invocation's suspension: the first one, or for gathered waits the one that
        ends first. A wait lets the io calls already scheduled in this loop turn (gathered
        siblings) start (module docstring)."""
        suspended = self.suspended
        if suspended is not None:
            if reason == suspended.reason == "wait" and _is_earlier(resume_at, suspended.resume_at):
                suspended.resume_at = resume_at  # the run resumes when its first wait ends
            return suspended
        suspended = self.suspended = Suspend(resume_at, reason=reason)
        if reason == "wait":
            self.suspender = asyncio.current_task()
            self.door_open = True
            asyncio.get_running_loop().call_soon(self._close_door)
        return suspended

    def enter(self) -> asyncio.Task[Any] | None:
        """An io call starts: raises what refuses it (the end, a divergence, a suspension),
        else counts it for the current asyncio task, returned for `leave` (None when it is
        `main` or no task)."""
        if self.has_ended:
            raise Suspend(None, reason="ended")
        if self.divergence is not None:
            raise self.divergence
        if self.suspended is not None and not self.lets_in():
            raise self.suspended
        this = asyncio.current_task() if _current_tasks is None else _current_tasks.get(_running_loop())
        if this is None or this is self.main:
            return None
        depth = self.io_depth
        depth[this] = depth.get(this, 0) + 1
        return this

    def leave(self, this: asyncio.Task[Any] | None) -> None:
        """The io call that `enter` returned `this` for has ended (None: nothing counted)."""
        if this is not None:
            depth = self.io_depth
            depth[this] -= 1
            if not depth[this]:
                del depth[this]

    def _close_door(self) -> None:
        self.door_open = False
        self.suspender = None

    def lets_in(self) -> bool:
        """After a suspension: may the current asyncio task still start an io call?"""
        return self.door_open and asyncio.current_task() is not self.suspender

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


def _is_earlier(at: float | None, than: float | None) -> bool:
    """A wait's resume time before another's (None: until woken, the latest of all)."""
    return at is not None and (than is None or at < than)


class IoCall:
    """`Invocation.io_call()`: a plain context manager, entered with `with` on the hot path
    (`async with` works too, for io primitives written that way): no coroutine per call."""

    __slots__ = ("_gate", "_task")

    def __init__(self, gate: IoGate) -> None:
        self._gate = gate
        self._task: asyncio.Task[Any] | None = None

    def __enter__(self) -> None:
        self._task = self._gate.enter()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._gate.leave(self._task)

    async def __aenter__(self) -> None:
        self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, traceback)


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
        # tuple.__new__: the NamedTuple's own __new__ is one more Python call per task
        parent = tuple.__new__(ParentTask, (task.id, task.key, task.attempts))
        self._token = current_parent.set(parent)
        self._running[task.id] = task

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        current_parent.reset(self._token)
        self._running.pop(self._task.id, None)
