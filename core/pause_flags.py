"""Whether a job is paused, read cheaply: the store's flag, cached per process briefly.

    client.pause_job / resume_job (core/pauses.py) -> the store's flag, and this cache at once
    an invocation's start, a run's creation        -> `is_job_paused`: the cached flag, read
                                                      from the store at most once per
                                                      PAUSE_CACHE_SECONDS per job per process

So the per-invocation path gains no store read, except the first invocation of a job in a
process after the cache aged out (one GetItem on DynamoDB). The price is staleness: another
process (another Lambda container, the CLI) sees a pause or a resume up to
PAUSE_CACHE_SECONDS late: it may start one more invocation of a paused job's run, or queue
a run just after a resume; the sweeper wakes such a run (core/slots.py `sweep_queues`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

if TYPE_CHECKING:
    from .runtime import Runtime

PAUSE_CACHE_SECONDS = 5.0
"""How long a process trusts a job's pause flag it read (real time, not the client's clock)."""

_flags: WeakKeyDictionary[Runtime, dict[str, tuple[float, bool]]] = WeakKeyDictionary()
"""Per client runtime: job id -> (when read, time.monotonic(); paused)."""


async def is_job_paused(runtime: Runtime, job_id: str) -> bool:
    """The job's pause flag, from this process's cache when read less than
    PAUSE_CACHE_SECONDS ago, else from the store."""
    flags = _flags.setdefault(runtime, {})
    cached = flags.get(job_id)
    now = time.monotonic()
    if cached is not None and now - cached[0] < PAUSE_CACHE_SECONDS:
        return cached[1]
    return await read_job_paused(runtime, job_id)


async def read_job_paused(runtime: Runtime, job_id: str) -> bool:
    """The job's pause flag read from the store now (and cached)."""
    get = getattr(runtime.store, "get_job_paused_at", None)  # a store of an older version
    paused = get is not None and await runtime.call(get, job_id) is not None
    remember(runtime, job_id, paused=paused)
    return paused


def remember(runtime: Runtime, job_id: str, *, paused: bool) -> None:
    """Caches the flag this process just wrote or read."""
    _flags.setdefault(runtime, {})[job_id] = (time.monotonic(), paused)
