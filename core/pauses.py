"""`client.pause_job` and `client.resume_job` (issue 19.6), over the runtime.

    pause_job   the store's flag set -> new runs of the job are created QUEUED (not due,
                `queued_reason` "paused"); a run's next invocation finds the flag and ends
                QUEUED in the job's own queue (no slot held);
                queued runs are not woken while it lasts (core/slots.py `wake_queued`)
    resume_job  the flag cleared -> the runs in the job's own queue are woken in queue order
                (priority, then age; as many as it has free slots under its own
                concurrency_limit, the rest as slots free)

A running invocation is not interrupted: it finishes, and the run waits at its next
invocation. Nothing is lost: a queued run stays in the store until it is woken. How fast
other processes see the flag: core/pause_flags.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import JobNotFound
from .pause_flags import read_job_paused, remember
from .slots import free_slots, wake_queued

if TYPE_CHECKING:
    from .runtime import Runtime

RESUME_WAKE_BATCH = 100
"""Queued runs listed and woken at a time while a resume drains its job's queue."""


def _check_job(runtime: Runtime, job_id: str) -> None:
    if not isinstance(job_id, str) or job_id not in runtime.jobs:
        raise JobNotFound(str(job_id))


async def pause_job(runtime: Runtime, job_id: str) -> bool:
    """Pauses the job; True when it was not paused before (pausing again changes nothing)."""
    _check_job(runtime, job_id)
    changed: bool = await runtime.call(
        runtime.store.set_job_paused, job_id, paused=True, now=runtime.clock.time()
    )
    remember(runtime, job_id, paused=True)
    return changed


async def resume_job(runtime: Runtime, job_id: str) -> bool:
    """Resumes the job and wakes its queued runs in order; True when it was paused.

    The queue is drained even when the job was not paused (a run queued by a process that
    saw the flag late is woken too).
    """
    _check_job(runtime, job_id)
    changed: bool = await runtime.call(
        runtime.store.set_job_paused, job_id, paused=False, now=runtime.clock.time()
    )
    remember(runtime, job_id, paused=False)
    await drain_queue(runtime, job_id)
    return changed


async def drain_queue(runtime: Runtime, job_id: str) -> list[str]:
    """Wakes the job's queued runs, oldest first: all of them, or as many as it has free
    slots under a concurrency_limit. Returns the ids woken."""
    job = runtime.jobs[job_id]
    if job.concurrency_limit and job.concurrency_key is None and job.shared_limit is None:
        # Its own queue is its slots' queue: as many as are free, the rest as slots free.
        return await wake_queued(runtime, job_id, await free_slots(runtime, job_id,
                                                                   job.concurrency_limit))
    # Paused runs wait in the job's own queue; a keyed or shared limit queues them again
    # under its own scope when they find no slot.
    woken: list[str] = []
    while True:
        batch = await wake_queued(runtime, job_id, RESUME_WAKE_BATCH)
        woken += batch
        if len(batch) < RESUME_WAKE_BATCH:
            return woken


async def is_job_paused(runtime: Runtime, job_id: str) -> bool:
    """Whether the job is paused, read from the store now (not the cache)."""
    _check_job(runtime, job_id)
    return await read_job_paused(runtime, job_id)
