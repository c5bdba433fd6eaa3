"""`io.wait`: the run sleeps in the store, not in an invocation."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..times import MAX_SECONDS, checked_seconds
from .records import wait_for_wake

if TYPE_CHECKING:
    from ..port import Port


async def wait(
    inv: Port, key: str, seconds: float | timedelta | None, *, until: datetime | None
) -> None:
    """Records a wait until `now + seconds` or `until`, and suspends the run until then.

    `seconds` is finite, 0 to 365 days (a number or a timedelta); `until` is an aware
    datetime at most 365 days ahead, and one already past finishes the wait at once.
    """
    if (seconds is None) == (until is None):
        raise ValueError(f"io.wait {key!r} needs exactly one of seconds= or until=")
    now = inv.clock.time()
    if seconds is not None:
        resume_at = now + checked_seconds(seconds, field=f"io.wait {key!r} seconds")
    else:
        if not isinstance(until, datetime) or until.tzinfo is None:
            raise ValueError(f"io.wait {key!r} until must be an aware datetime, got {until!r}")
        resume_at = until.timestamp()
        if resume_at - now > MAX_SECONDS:
            raise ValueError(
                f"io.wait {key!r} until must be at most {MAX_SECONDS:g} s "
                f"({MAX_SECONDS / 86400:g} days) ahead, got {until.isoformat()}"
            )
    claim = inv.claim(key)
    await wait_for_wake(inv, claim, kind="wait", resume_at=max(resume_at, now))
