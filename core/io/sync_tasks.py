"""Where a sync task fn runs: on the event loop when it has shown it is quick, else in a
worker thread (core/io/threads.py), so a blocking fn never stalls the loop (issue 17).

A thread hop costs ~0.13 ms, most of a durable step; a trivial lambda costs ~1 µs. Each fn
is known by its code object (all the lambdas of one `lambda: ...` in a loop share it):

    never seen          -> a worker thread, timed there (a "probe"); but a fn whose body
                           only calls an `async def` (`lambda: client.post(url)`) just
                           makes a coroutine: on the loop at once, never in a thread
    PROBE_CALLS probes in a row under QUICK_SECONDS, or one that returned an awaitable
                        -> on the loop from then on (in this process)
    a probe over QUICK_SECONDS -> the count starts again (so a fn that blocks stays in
                           threads; a quick fn that met a busy moment is probed again)
    on the loop, took over BLOCKING_SECONDS -> worker threads for good, with a warning
    on the loop, still running after WATCHDOG_SECONDS (seen twice by the watchdog thread)
                        -> a warning at once, naming the task, and threads for good (the
                           call itself cannot be moved off the loop once started)

So a fn that blocks (I/O, sleep, a lock) runs in a thread from its first call on. A loop
shared by many runs and requests (a started `LocalDispatcher`: the local server) is marked
with `share_loop`: there every sync fn runs in a thread except the coroutine makers, so no
fn, however quick it was before, can hold the server's loop. Elsewhere (Lambda, a script,
a test driving one run) a fn that was quick PROBE_CALLS times and then blocks holds the
loop for that one call; docs/performance.md ("Sync task fns") says what that delays (the
lease heartbeat, timers) and why no lease is lost unless the block outlasts the lease.
"""

from __future__ import annotations

import contextvars
import dis
import functools
import inspect
import logging
import threading
import time
import weakref
from asyncio import AbstractEventLoop, get_running_loop
from collections.abc import Callable
from types import CodeType, FunctionType
from typing import Any

from .threads import run_in_thread

logger = logging.getLogger("triggerfish.core.engine")

QUICK_SECONDS = 0.001
"""A probe (a call in a thread, timed there) this short counts towards running on the loop."""
PROBE_CALLS = 3
"""Quick probes in a row before a fn runs on the loop."""
BLOCKING_SECONDS = 0.05
"""A call on the loop that took longer sends its fn back to worker threads for good."""
WATCHDOG_SECONDS = 0.25
"""How often the watchdog thread looks at the call on the loop; one seen twice is warned of."""
MAX_KNOWN_FNS = 4096
"""Code objects remembered at most (a process that makes code at run time forgets, not grows)."""

_perf_counter = time.perf_counter
_copy_context = contextvars.copy_context
_ON_LOOP = -1
_IN_THREAD = -2
_MAKES_COROUTINE = -3
_known: dict[CodeType, int] = {}
"""code -> quick probes so far (0..PROBE_CALLS-1), or _ON_LOOP, _IN_THREAD, _MAKES_COROUTINE."""
_shared: weakref.WeakKeyDictionary[AbstractEventLoop, int] = weakref.WeakKeyDictionary()
"""Loops shared by many runs and requests (`share_loop`): sync fns run in threads there."""


_is_any_shared = False
"""Whether `_shared` may hold a loop: a plain bool read on every step (a WeakKeyDictionary's
`len` is a Python call); a loop collected while shared leaves it True, costing a lookup."""


def share_loop(loop: AbstractEventLoop) -> None:
    """Marks `loop` as shared by many runs (and HTTP requests): from now on no sync task fn
    runs on it except those that only make a coroutine. `LocalDispatcher.start` calls it."""
    global _is_any_shared
    _shared[loop] = _shared.get(loop, 0) + 1
    _is_any_shared = True


def unshare_loop(loop: AbstractEventLoop) -> None:
    """Undoes one `share_loop(loop)` (`LocalDispatcher.stop`)."""
    global _is_any_shared
    left = _shared.get(loop, 0) - 1
    if left > 0:
        _shared[loop] = left
    else:
        _shared.pop(loop, None)
    _is_any_shared = bool(_shared)


def loop_code(fn: Callable[[], Any]) -> CodeType | None:
    """The code object of `fn` when it runs on the loop now (`call_on_loop`); None when
    `run_sync_fn` decides (a probe, a thread). Lets a caller skip that coroutine."""
    code = _code_of(fn)
    return None if code is None else _on_loop(code)


def on_loop_code(fn: Callable[[], Any]) -> CodeType | None:
    """`loop_code(fn)` for a plain sync function (`is_plain_sync_function`) called with no
    argument (no parameter without a default: so no TaskContext either), else None: one
    look at `fn` on a task's hot path, where a lambda is the commonest fn."""
    if type(fn) is not FunctionType or fn.__dict__:
        return None
    code = fn.__code__
    if code.co_flags & (inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR):
        return None
    if code.co_argcount and code.co_argcount > len(fn.__defaults__ or ()):
        return None
    return _on_loop(code)


def _on_loop(code: CodeType) -> CodeType | None:
    """`code` when its fn runs on the loop now (quick, or a coroutine maker), else None."""
    state = _known.get(code)
    if state == _MAKES_COROUTINE or (
        state == _ON_LOOP and not (_is_any_shared and get_running_loop() in _shared)
    ):
        return code
    return None


async def run_sync_fn(fn: Callable[[], Any], key: str) -> Any:
    """Calls the sync task fn `fn` (task `key`) on the loop or in a worker thread (see the
    module docstring), with this context copied either way, as `asyncio.to_thread` does."""
    code = _code_of(fn)
    state = _IN_THREAD if code is None else _known.get(code)
    if state is None:
        state = _first_look(fn, code)  # type: ignore[arg-type]  # code is set here
    if state == _MAKES_COROUTINE:
        return call_on_loop(fn, key, code)  # type: ignore[arg-type]
    if state == _IN_THREAD or (_is_any_shared and get_running_loop() in _shared):
        return await run_in_thread(fn)
    if state == _ON_LOOP:
        return call_on_loop(fn, key, code)  # type: ignore[arg-type]
    took = [0.0]
    result = await run_in_thread(functools.partial(_timed, fn, took))
    if took[0] > QUICK_SECONDS:
        _known[code] = 0  # type: ignore[index]
    elif inspect.isawaitable(result) or state + 1 >= PROBE_CALLS:
        _known[code] = _ON_LOOP  # type: ignore[index]
    else:
        _known[code] = state + 1  # type: ignore[index]
    return result


def is_plain_sync_function(fn: Callable[[], Any]) -> bool:
    """A `def` or lambda that is no `async def` and carries no attributes (so no marker from
    `inspect.markcoroutinefunction`): sync for sure, without `inspect`'s ~3 µs of checks."""
    code = getattr(fn, "__code__", None)
    return (
        type(fn) is FunctionType
        and not fn.__dict__
        and code is not None
        and not code.co_flags & (inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR)
    )


def _timed(fn: Callable[[], Any], took: list[float]) -> Any:
    """`fn()` in the worker thread, its duration put in `took` (read once the await ends)."""
    started = time.perf_counter()
    try:
        return fn()
    finally:
        took[0] = time.perf_counter() - started


def call_on_loop(fn: Callable[[], Any], key: str, code: CodeType) -> Any:
    """`fn()` right here on the loop, watched (see the module docstring)."""
    watch = _watch or _start_watchdog()
    started = _perf_counter()
    call = watch.current = (started, key, code)
    try:
        return _copy_context().run(fn)
    except StopIteration as exc:  # as core/io/threads.py: a coroutine may not raise it
        raise RuntimeError(f"the task fn raised StopIteration: {exc}") from exc
    finally:
        watch.current = None
        took = _perf_counter() - started
        if took > BLOCKING_SECONDS:
            _known[code] = _IN_THREAD
            if watch.warned is not call:
                logger.warning("task %s: its sync fn held the event loop for %.0f ms; its "
                               "calls run in a worker thread from now on", key,
                               took * 1000)  # fmt: skip


class _Watchdog:
    """A daemon thread that notices a sync fn holding the loop (see the module docstring)."""

    def __init__(self) -> None:
        self.current: tuple[float, str, CodeType] | None = None
        self.warned: tuple[float, str, CodeType] | None = None
        thread = threading.Thread(target=self._watch, name="triggerfish-watchdog", daemon=True)
        thread.start()

    def _watch(self) -> None:
        seen = None
        while True:
            time.sleep(WATCHDOG_SECONDS)
            call = self.current
            if call is not None and call is seen and call is not self.warned:
                started, key, code = call
                _known[code] = _IN_THREAD
                self.warned = call
                logger.warning("task %s: its sync fn has held the event loop for %.1f s (other "
                               "runs and requests in this process wait); its calls run in a "
                               "worker thread from now on", key,
                               time.perf_counter() - started)  # fmt: skip
            seen = call


_watch: _Watchdog | None = None
_watch_lock = threading.Lock()


def _start_watchdog() -> _Watchdog:
    global _watch
    with _watch_lock:
        if _watch is None:
            _watch = _Watchdog()
        return _watch


def _after_fork() -> None:
    """A forked child has no watchdog thread: it starts one on its first call on the loop."""
    global _watch
    _watch = None


try:
    import os

    os.register_at_fork(after_in_child=_after_fork)
except AttributeError:  # no fork on this platform
    pass


def _code_of(fn: Callable[[], Any]) -> CodeType | None:
    """The code object that identifies `fn` (a function, a partial, a bound method), or None
    for other callables (they always run in a thread)."""
    while type(fn) is functools.partial:
        fn = fn.func
    code = getattr(fn, "__code__", None)
    if code is None:
        code = getattr(getattr(fn, "__func__", None), "__code__", None)
    return code if isinstance(code, CodeType) else None


def _first_look(fn: Callable[[], Any], code: CodeType) -> int:
    """A fn never seen: on the loop when it only calls an `async def`, else probed."""
    if len(_known) >= MAX_KNOWN_FNS:
        _known.clear()
    state = _MAKES_COROUTINE if _only_calls_async(fn, code) else 0
    _known[code] = state
    return state


_SKIPPED = frozenset({"RESUME", "NOP", "PUSH_NULL", "COPY_FREE_VARS", "MAKE_CELL", "CACHE",
                      "PRECALL", "KW_NAMES", "EXTENDED_ARG"})  # fmt: skip
_CALLS = frozenset({"CALL", "CALL_KW", "CALL_FUNCTION", "CALL_FUNCTION_KW", "CALL_METHOD"})
_NAMES = frozenset({"LOAD_GLOBAL", "LOAD_DEREF", "LOAD_NAME"})
_ATTRIBUTES = frozenset({"LOAD_ATTR", "LOAD_METHOD"})


def _only_calls_async(fn: Callable[[], Any], code: CodeType) -> bool:
    """Whether `fn`'s body is one call, `name.attr...(args)` with no other call in it, of
    an `async def`: then calling `fn` only makes a coroutine (it cannot block).

    Read from the bytecode and resolved with `inspect.getattr_static` (no property or
    `__getattr__` runs); anything else, or any doubt, is False (the fn is probed instead).
    """
    try:
        ops = [op for op in dis.get_instructions(code) if op.opname not in _SKIPPED]
        if len(ops) < 3 or ops[-1].opname != "RETURN_VALUE" or ops[-2].opname not in _CALLS:
            return False
        body = ops[:-2]
        if any(op.opname.startswith(("CALL", "JUMP", "POP_JUMP", "FOR_ITER", "SEND",
                                     "YIELD", "IMPORT")) for op in body):  # fmt: skip
            return False
        first = body[0]
        if first.opname not in _NAMES:
            return False
        target = _resolve_name(fn, code, first.opname, first.argval)
        for op in body[1:]:
            if op.opname not in _ATTRIBUTES:
                break
            target = inspect.getattr_static(target, op.argval)
    except Exception:  # noqa: BLE001 - a name not bound yet, an odd callable: not sure
        return False
    if isinstance(target, staticmethod | classmethod):
        target = target.__func__
    while isinstance(target, functools.partial):
        target = target.func
    return inspect.iscoroutinefunction(target)


def _resolve_name(fn: Any, code: CodeType, opname: str, name: str) -> Any:
    """What the name `name`, loaded by `opname` in `fn`, is bound to now (KeyError if not)."""
    if opname == "LOAD_DEREF":
        cells = dict(zip(code.co_freevars, fn.__closure__ or (), strict=False))
        return cells[name].cell_contents
    scope = getattr(fn, "__globals__", {})
    if name in scope:
        return scope[name]
    builtins = scope.get("__builtins__", {})
    return builtins[name] if isinstance(builtins, dict) else getattr(builtins, name)
