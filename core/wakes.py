"""`wake`: brings a WAITING run's next invocation forward (a fetch answered, an event or a
callback arrived, a run ended). Its own module: the end of every invocation imports it,
and the fetch machinery (core/fetch.py) stays off a worker's cold start."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from .errors import StoreError

if TYPE_CHECKING:
    from .runtime import Runtime

logger = logging.getLogger(__name__)

WAKE_ATTEMPTS = 25
WAKE_PAUSE_SECONDS = 0.2


async def wake(runtime: Runtime, run_id: str, at: float) -> None:
    """Brings a WAITING run's next invocation forward to `at`, and dispatches it.

    A run still leased (its invocation is just finishing) is tried again briefly, so the
    wake-up cannot slip in before that invocation writes its own, later, resume time.
    """
    for _ in range(WAKE_ATTEMPTS):
        try:
            state = await runtime.call(
                runtime.store.wake_run, run_id, at=at, now=runtime.clock.time()
            )
        except StoreError:
            logger.warning("waking run %s failed; its recheck time will wake it", run_id)
            return
        if state != "leased":
            break
        await asyncio.sleep(WAKE_PAUSE_SECONDS)
    await runtime.dispatch(run_id, at)
