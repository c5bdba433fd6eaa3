"""The worker threads that run sync task fns, so a blocking fn never stalls the event loop.

`asyncio.to_thread` costs about 0.15 ms of CPU per call on a busy server (measured with
bench/throughput.py: a run of 3 sync tasks went from ~1.0 to ~2.0 ms of server CPU): a
`concurrent.futures.Future` chained to an asyncio one, and a shared queue that wakes
whichever of the pool's threads is waiting, each handing the GIL back and forth. Here a
call goes straight to one thread, the one most recently idle (LIFO), so a steady flow of
short calls keeps one thread warm while the others sleep; its result comes back to the
loop through one `call_soon_threadsafe`. A thread busy in a blocking fn delays no other
call: the next call starts a new thread (up to `MAX_THREADS`; past it, calls queue).
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

MAX_THREADS = 32
"""Most threads running sync task fns at once in a process; further calls wait their turn."""

_Call = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", contextvars.Context,
              Callable[[], Any]]  # fmt: skip


class _Worker:
    """One thread; `wake` is held while it is idle and released to give it `call`."""

    __slots__ = ("call", "wake")

    def __init__(self, call: _Call) -> None:
        self.call: _Call | None = call
        self.wake = threading.Lock()
        self.wake.acquire()


class _Workers:
    """The process's threads for sync task fns (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._queued: deque[_Call] = deque()
        self._count = 0

    def submit(self, call: _Call) -> None:
        """Hands `call` to the most recently idle thread, a new one, or the queue."""
        with self._lock:
            if self._idle:
                worker = self._idle.pop()
                worker.call = call
                worker.wake.release()
                return
            if self._count >= MAX_THREADS:
                self._queued.append(call)
                return
            self._count += 1
        thread = threading.Thread(target=self._work, args=(_Worker(call),),
                                  name="triggerfish-task", daemon=True)  # fmt: skip
        thread.start()

    def _work(self, worker: _Worker) -> None:
        while True:
            call, worker.call = worker.call, None
            if call is not None:  # always set before the thread starts or `wake` is released
                _run(call)
            del call  # nothing of the last call is kept alive while idle
            with self._lock:
                if self._queued:
                    worker.call = self._queued.popleft()
                    continue
                self._idle.append(worker)
            worker.wake.acquire()


def _run(call: _Call) -> None:
    loop, future, context, fn = call
    try:
        result, error = context.run(fn), None
    except BaseException as exc:  # noqa: BLE001 - raised to the awaiting task, as to_thread does
        result, error = None, exc
    try:
        loop.call_soon_threadsafe(_settle, future, result, error)
    except RuntimeError:  # the loop closed meanwhile: nobody awaits the result
        pass


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is None:
        future.set_result(result)
    elif isinstance(error, StopIteration):
        # A future refuses StopIteration (with asyncio.to_thread the await never ended):
        # raised as a RuntimeError instead, as a coroutine's StopIteration is.
        wrapped = RuntimeError(f"the task fn raised StopIteration: {error}")
        wrapped.__cause__ = error
        future.set_exception(wrapped)
    else:
        future.set_exception(error)


_workers = _Workers()


def _after_fork() -> None:
    """A forked child has none of the parent's threads: start from an empty pool."""
    global _workers
    _workers = _Workers()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


async def run_in_thread(fn: Callable[[], Any]) -> Any:
    """`fn()` in a worker thread with this context copied (like `asyncio.to_thread`)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()
    _workers.submit((loop, future, contextvars.copy_context(), fn))
    return await future
