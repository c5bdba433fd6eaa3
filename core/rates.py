"""Rate limits: at most `limit` runs of a job start in any sliding `period`, per key.

Each run is given a start time once, when it first reaches the gate, from the key's window
(one flow document holding the last `limit` start times given, core/flow_state.py):

    start = max(now, the limit-th latest start given + period)

so any two starts `limit` apart are at least `period` apart (never more than `limit` in a
window), and start times are handed out in arrival order. A run whose start is later waits
QUEUED (reason "rate") and is due at that time: the due index wakes it, nothing polls, and
each waiting run is woken once. The time is kept on the run (`rate_at`), so a crash, a
duplicate message or a later concurrency wait never asks for a second one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .flow import flow_name, key_value
from .flow_state import lost_race, read_flow, write_flow

if TYPE_CHECKING:
    from .jobs import Job
    from .runtime import Runtime
    from .store.base import RunRecord


def window_name(job: Job, key: str | None) -> str:
    """The flow document of the job's rate window for this key."""
    return flow_name("rate", job.id, key)


async def reserve_start(runtime: Runtime, job: Job, run: RunRecord, payload: Any) -> float:
    """The run's start time under the job's rate limit (now, or later when the window is full).

    Raises FlowKeyError when the limit's key function does.
    """
    rate = job.rate_limit
    if rate is None:
        return runtime.clock.time()
    key = key_value(rate.key, payload, field=f"job {job.id!r} RateLimit key")
    name = window_name(job, key)
    attempt = 0
    while True:
        read = await read_flow(runtime, name)
        starts: list[list[Any]] = [] if read is None else list(read.data.get("starts", []))
        for given, run_id in starts:
            if run_id == run.id:  # given before (its write to the run was lost): the same
                return float(given)
        now = runtime.clock.time()
        start = now
        if len(starts) >= rate.limit:
            start = max(now, float(starts[-rate.limit][0]) + rate.period_seconds)
        kept = [*starts, [start, run.id]][-rate.limit :]
        if await write_flow(runtime, name, {"starts": kept}, read=read):
            return start
        await lost_race(name, attempt)
        attempt += 1
