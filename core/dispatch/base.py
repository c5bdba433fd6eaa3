"""The `Dispatcher` protocol: "run R again at time T" (a hint; the store is the truth)."""

from __future__ import annotations

from typing import Protocol


class Dispatcher(Protocol):
    """Arranges for `Client.execute(run_id)` to be called at or after `at` (epoch seconds)."""

    async def dispatch(self, run_id: str, at: float) -> None: ...
