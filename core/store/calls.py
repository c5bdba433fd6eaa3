"""`call_store`: how async code calls a (synchronous) store primitive; `call_or_abort`: how
an invocation does, a failure stopping the invocation rather than reaching user code."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from types import CoroutineType
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import StoreError
from ..usage import count_store_call

if TYPE_CHECKING:
    from .base import Store

T = TypeVar("T")


async def call_store(store: Store, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Calls a store primitive, in a worker thread when the store does network I/O."""
    if not getattr(store, "counts_requests", False):
        count_store_call(getattr(fn, "__name__", ""))
    if store.offload:
        return await asyncio.to_thread(fn, *args, **kwargs)
    return fn(*args, **kwargs)


class StoreAbort(BaseException):
    """Carries a StoreError out of an invocation, past user code (which must not see or
    swallow it): the invocation stops and the run resumes later from its records."""

    def __init__(self, error: StoreError) -> None:
        super().__init__(str(error))
        self.error = error


async def call_or_abort(store: Store, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """A store call inside an invocation: a StoreError becomes a `StoreAbort`."""
    if not store.offload:  # in-process store: no thread, no introspection
        result = call_now(store, fn, *args, **kwargs)
        return await result if isinstance(result, CoroutineType) else result
    try:
        if inspect.iscoroutinefunction(fn):
            return await fn(*args, **kwargs)
        return await call_store(store, fn, *args, **kwargs)
    except StoreError as exc:
        raise StoreAbort(exc) from exc


def call_now(store: Store, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`call_or_abort` with no coroutine of its own where it can: an in-process store's sync
    primitive answers here (a task's hot path); anything else is returned as a coroutine
    for the caller to await. A StoreError becomes a `StoreAbort` either way."""
    if store.offload:
        return call_or_abort(store, fn, *args, **kwargs)
    try:
        result = fn(*args, **kwargs)
    except StoreError as exc:
        raise StoreAbort(exc) from exc
    if isinstance(result, CoroutineType):  # inspect.iscoroutine, without its frame
        return _aborting(result)
    count_store_call(getattr(fn, "__name__", ""))  # usage (call_store's count)
    return result


async def _aborting(call: CoroutineType[Any, Any, Any]) -> Any:
    try:
        return await call
    except StoreError as exc:
        raise StoreAbort(exc) from exc
