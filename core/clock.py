"""Time as the engine sees it; tests swap in a clock that skips waits."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """Epoch seconds now, and a way to pass time."""

    def time(self) -> float: ...
    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    time = staticmethod(time.time)  # the C function itself: read several times a task

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class SkippingClock:
    """Real time plus an offset that `advance` moves forward: waits cost nothing."""

    def __init__(self) -> None:
        self.offset_seconds = 0.0

    def time(self) -> float:
        return time.time() + self.offset_seconds

    def advance(self, seconds: float) -> None:
        """Jump `seconds` into the future."""
        self.offset_seconds += max(0.0, seconds)

    def advance_to(self, timestamp: float) -> None:
        """Jump to `timestamp` (epoch seconds), if that is in the future."""
        self.advance(timestamp - self.time())

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        await asyncio.sleep(0)
