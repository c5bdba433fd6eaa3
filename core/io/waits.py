"""`io.wait`: the run sleeps in the store, not in an invocation."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from .records import wait_for_wake

if TYPE_CHECKING:
    from ..engine import Invocation


async def wait(inv: Invocation, key: str, seconds: float | None, *, until: datetime | None) -> None:
    """Records a wait until `now + seconds` or `until`, and suspends the run until then."""
    if (seconds is None) == (until is None):
        raise ValueError("io.wait needs exactly one of seconds= or until=")
    if seconds is not None and seconds < 0:
        raise ValueError(f"io.wait seconds must be 0 or more, got {seconds}")
    if until is not None and until.tzinfo is None:
        raise ValueError(f"io.wait until must be an aware datetime, got {until!r}")
    claim = inv.claim(key)
    now = inv.clock.time()
    resume_at = now + seconds if seconds is not None else until.timestamp()  # type: ignore[union-attr]
    await wait_for_wake(inv, claim, kind="wait", resume_at=resume_at)
