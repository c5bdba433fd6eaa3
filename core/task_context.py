"""`TaskContext`: what a task fn that takes one parameter is given (v2's `task` argument).

    await io.run_task("charge", lambda task: stripe.charge(..., idempotency_key=task.idempotency_key))

The idempotency key is derived from the run id and the task's identity (its key under its
parent), never from the attempt: every attempt and every replay of the task sends the same
key, so a downstream API (Stripe accepts up to 255 characters) does the work at most once.
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .digest import sha256_hex

__all__ = ["TaskContext", "idempotency_key_for", "takes_context"]


@dataclass(frozen=True, slots=True)
class TaskContext:
    """The task a fn runs as: its key, attempt (1-based), run and idempotency key."""

    key: str
    idempotency_key: str
    """64 hex digits, the same across attempts and replays of this task in this run."""
    attempt: int
    run_id: str
    callback_url: str | None = None
    """The task's callback URL where it has one (None for a plain io.run_task)."""


def idempotency_key_for(run_id: str, task_id: str) -> str:
    """The key of the task `task_id` (its key under its parent, hashed with the run id)."""
    return sha256_hex(f"triggerfish\x00{run_id}\x00{task_id}".encode())


def takes_context(fn: Callable[..., Any]) -> bool:
    """True when `fn` has exactly one required positional parameter (it gets a TaskContext);
    a fn with none (defaults only, or *args) is called with no argument, as before.

    On every task: a plain function, method or partial of a function reads its code
    object (no `inspect`, well under 1 µs); other callables (callable objects, partials
    with keywords) pay for `inspect.signature` (~20 µs).
    """
    kind = type(fn)
    if kind is functools.partial:  # partial(step, i): the common way to bind a loop variable
        inner: Any = fn.func  # type: ignore[attr-defined]
        if type(inner) is types.FunctionType and not fn.keywords:  # type: ignore[attr-defined]
            code, bound = inner.__code__, len(fn.args)  # type: ignore[attr-defined]
            if code.co_flags & _VARARGS:
                return False
            required: int = code.co_argcount - len(inner.__defaults__ or ())
            return max(0, required - bound) == 1
        return _signature_takes_one(fn)
    if kind is types.FunctionType or kind is types.MethodType:
        function: Any = fn.__func__ if kind is types.MethodType else fn  # type: ignore[attr-defined]
        code = function.__code__
        count: int = code.co_argcount - (kind is types.MethodType)
        if not count:
            return False
        defaults: tuple[Any, ...] = function.__defaults__ or ()
        return count - len(defaults) == 1
    return _signature_takes_one(fn)


_VARARGS = inspect.CO_VARARGS


def _signature_takes_one(fn: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: called as before
        return False
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    required = [p for p in parameters if p.kind in positional and p.default is p.empty]
    return len(required) == 1
