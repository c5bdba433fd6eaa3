"""`io.parallel`: `fn(item)` for each item, as subtasks "0", "1", ... of one parent task.

    parent recorded final -> its output (the list) or the same TaskFailed   (no write)
    otherwise             -> run_task(key): each item is run_task(str(index)) inside it,
                             at most `max_concurrency` in flight; completed items replay,
                             items past the yield margin suspend (a yield) and run next time

Outputs are in item order and a failure is reported for the lowest failing index, so a
replay never depends on completion order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..errors import Suspend, TaskFailed
from .tasks import run_task

if TYPE_CHECKING:
    from ..port import Port


class _NotStarted(Exception):
    """An item left unstarted because an earlier one failed."""


async def parallel(
    inv: Port,
    key: str,
    items: Iterable[Any],
    fn: Callable[[Any], Any],
    *,
    max_concurrency: int | None,
) -> list[Any]:
    """Runs `fn(item)` for every item under one parent task; outputs in item order."""
    if isinstance(items, str | bytes | dict) or not isinstance(items, Iterable):
        raise TypeError(f"io.parallel items must be a list or another sequence, got "
                        f"{type(items).__name__}")  # fmt: skip
    if not callable(fn):
        raise TypeError(f"io.parallel fn must be callable, got {type(fn).__name__}")
    if max_concurrency is not None and (
        isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int)
        or max_concurrency < 1
    ):
        raise ValueError(f"io.parallel max_concurrency must be an integer of at least 1, "
                         f"got {max_concurrency!r}")  # fmt: skip
    listed = list(items)

    async def fan_out() -> list[Any]:
        gate = asyncio.Semaphore(max_concurrency or max(1, len(listed)))
        failed = False

        async def one(index: int, item: Any) -> Any:
            nonlocal failed
            async with gate:
                if failed and max_concurrency is not None:  # queued behind the bound: skip
                    raise _NotStarted
                async with inv.io_call():
                    try:
                        return await run_task(
                            inv, str(index), lambda: fn(item), name=None, retry=None,
                            icon=None, properties=None,
                        )  # fmt: skip
                    except Exception:
                        failed = True
                        raise

        runs = [asyncio.ensure_future(one(i, item)) for i, item in enumerate(listed)]
        results = await asyncio.gather(*runs, return_exceptions=True)
        for result in results:
            if isinstance(result, Suspend):
                raise result
        for result in results:
            if isinstance(result, TaskFailed):
                message = f"item {result.key!r} failed: {result.error.get('message', '')}"
                raise TaskFailed(result.key, {**result.error, "message": message})
            if isinstance(result, BaseException) and not isinstance(result, _NotStarted):
                raise result
        return list(results)

    result: list[Any] = await run_task(
        inv, key, fan_out, name=f"parallel ({len(listed)} items)", retry=None, icon="parallel",
        properties=[{"label": "items", "text": str(len(listed))}]
        + ([{"label": "max concurrency", "text": str(max_concurrency)}] if max_concurrency else []),
    )  # fmt: skip
    return result
