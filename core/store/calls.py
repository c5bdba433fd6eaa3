"""`call_store`: how async code calls a (synchronous) store primitive."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

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
