"""Concurrency slots between runs: freed by a run that waits or ends, handed to the oldest
QUEUED run by a wake-up, never polled.

    run WAITING (a wait, a retry backoff, a fetch) -> slot released; claimed again on resume
    run final                                      -> slot released
    slot released                                  -> the job's oldest QUEUED run made due, dispatched
    run QUEUED (no free slot)                      -> not due; re-checks once for a slot freed
                                                      while it was queuing (else waits to be woken)
    safety sweep (Client.tick, every QUEUE_SWEEP_SECONDS) -> wakes queued runs of jobs with a
                                                      free slot, in case a wake-up was lost,
                                                      and of jobs with no limit (a run queued
                                                      by a paused job's late-seen resume)
    job paused (core/pauses.py)                    -> nobody is woken until it resumes
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from .errors import StoreError
from .pause_flags import is_job_paused

if TYPE_CHECKING:
    from .jobs import Job
    from .runtime import Runtime
    from .store.base import RunRecord

logger = logging.getLogger(__name__)

QUEUE_SWEEP_SECONDS = 60.0
"""How often the sweeper looks for queued runs behind a free slot (a lost wake-up)."""
QUEUE_SWEEP_BATCH = 100
"""The most queued runs of a job with no concurrency_limit one sweep wakes."""

_last_sweep: WeakKeyDictionary[Runtime, float] = WeakKeyDictionary()


def is_stale_holder(held: RunRecord | None, slot: int, now: float) -> bool:
    """A slot's holder that no longer holds it: gone, final, or waiting/queued without it.

    A leased holder may be between claiming the slot and writing it into its run, so it
    keeps the slot until its lease expires.
    """
    if held is None or held.status.is_final:
        return True
    is_leased = held.lease_owner is not None and (held.lease_expires_at or 0) >= now
    return held.slot != slot and not is_leased


async def free_slots(runtime: Runtime, job: Job) -> int:
    """How many of the job's slots are free or held by a stale holder."""
    store, now = runtime.store, runtime.clock.time()
    free = 0
    for slot in range(job.concurrency_limit or 0):
        holder = await runtime.call(store.get_concurrency_holder, job.id, slot)
        if holder is None or is_stale_holder(await runtime.call(store.get_run, holder), slot, now):
            free += 1
    return free


async def wake_queued(runtime: Runtime, job_id: str, count: int = 1) -> list[str]:
    """Makes the job's `count` oldest QUEUED runs due now (a conditional write, so any
    sweeper finds them too) and dispatches them; they claim a slot when they start."""
    if count <= 0 or await is_job_paused(runtime, job_id):
        return []
    run_ids = await runtime.call(runtime.store.list_queued_runs, job_id, limit=count)
    now = runtime.clock.time()
    woken = []
    for run_id in run_ids:
        if await runtime.call(runtime.store.wake_queued_run, run_id, at=now):
            woken.append(run_id)
            await runtime.dispatch(run_id, now)
    return woken


async def release_slot(runtime: Runtime, job_id: str, slot: int, run_id: str) -> None:
    """Gives the slot back and wakes the job's oldest queued run (best effort: the sweep
    catches a wake-up lost to a store failure)."""
    await runtime.call(runtime.store.release_concurrency_slot, job_id, slot, run_id)
    try:
        await wake_queued(runtime, job_id)
    except StoreError:
        logger.warning("waking the queue of job %s failed; the sweep will", job_id)


async def recheck_after_queuing(runtime: Runtime, job: Job, run_id: str) -> None:
    """A run just QUEUED: if a slot freed while it was queuing (its holder's wake-up ran
    before this run was in the queue), the oldest queued run is woken now."""
    if await free_slots(runtime, job):
        await wake_queued(runtime, job.id)


async def sweep_queues(runtime: Runtime) -> list[str]:
    """The safety sweep: for each job with free slots, wake as many of its oldest queued runs
    (a job with no limit: up to QUEUE_SWEEP_BATCH; a paused job: none)."""
    woken: list[str] = []
    for job in runtime.jobs.values():
        if await runtime.call(runtime.store.list_queued_runs, job.id, limit=1):
            count = await free_slots(runtime, job) if job.concurrency_limit else QUEUE_SWEEP_BATCH
            woken += await wake_queued(runtime, job.id, count)
    return woken


async def sweep_queues_if_due(runtime: Runtime, now: float) -> list[str]:
    """`sweep_queues` at most once per QUEUE_SWEEP_SECONDS of clock time (Client.tick)."""
    last = _last_sweep.get(runtime)
    if last is not None and now - last < QUEUE_SWEEP_SECONDS:
        return []
    _last_sweep[runtime] = now
    return await sweep_queues(runtime)
