"""Concurrency slots between runs: freed by a run that waits or ends, handed to the first
QUEUED run (highest priority, then oldest) by a wake-up, never polled.

Slots and queues belong to a scope: the job's id for its own `concurrency_limit`, or a
named queue (`queue_scope`) for a shared limit (`define_concurrency_limit`) and for each
key of a `concurrency_key`: every key has its own slots and queue, so a key with 10,000
queued runs never delays another key's run (fair by construction).

    run WAITING (a wait, a retry backoff, a fetch) -> slot released; claimed again on resume
    run final                                      -> slot released
    slot released                                  -> the job's oldest QUEUED run made due, dispatched
    run QUEUED (no free slot)                      -> not due; re-checks once for a slot freed
                                                      while it was queuing (else waits to be woken)
    safety sweep (Client.tick, every QUEUE_SWEEP_SECONDS) -> wakes queued runs of jobs and
                                                      shared limits with a free slot, in case a
                                                      wake-up was lost (keyed queues: not swept),
                                                      and of jobs with no limit (a run queued
                                                      by a paused job's late-seen resume)
    job paused (core/pauses.py)                    -> its own queue is not woken until it resumes
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from .errors import StoreError
from .flow import flow_name, key_value
from .pause_flags import is_job_paused
from .store.calls import call_store

if TYPE_CHECKING:
    from .jobs import Job
    from .runtime import Runtime
    from .store.base import RunRecord, Store

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


def queue_scope(job: Job, payload: Any) -> str:
    """The scope of the job's slots and queue for this payload: its id, or a named queue
    for a shared limit and per concurrency key. Raises FlowKeyError if the key function does."""
    key = key_value(job.concurrency_key, payload, field=f"job {job.id!r} concurrency_key")
    if job.shared_limit is None and key is None:
        return job.id
    owner = ("limit", job.shared_limit.id) if job.shared_limit else ("job", job.id)
    return flow_name("queue", *owner, key)


async def claim_concurrency_slot(
    store: Store, scope: str, limit: int, run_id: str, now: float
) -> int | None:
    """A slot of the scope's `limit` for this run, or None when all are busy.

    A slot still held by a stale holder (a finished run, or one waiting without it: its
    release was lost, or it was canceled) is taken over with a write conditional on it.
    """
    for slot in range(limit):
        if await call_store(
            store, store.claim_concurrency_slot, scope, slot, run_id, previous_holder=None
        ):
            return slot
    for slot in range(limit):
        holder = await call_store(store, store.get_concurrency_holder, scope, slot)
        if holder is None:
            continue
        held = await call_store(store, store.get_run, holder)
        is_stale = is_stale_holder(held, slot, now)
        if is_stale and await call_store(
            store, store.claim_concurrency_slot, scope, slot, run_id, previous_holder=holder
        ):
            return slot
    return None


async def free_slots(runtime: Runtime, scope: str, limit: int) -> int:
    """How many of the scope's slots are free or held by a stale holder."""
    store, now = runtime.store, runtime.clock.time()
    free = 0
    for slot in range(limit):
        holder = await runtime.call(store.get_concurrency_holder, scope, slot)
        if holder is None or is_stale_holder(await runtime.call(store.get_run, holder), slot, now):
            free += 1
    return free


async def wake_queued(runtime: Runtime, queue: str, count: int = 1) -> list[str]:
    """Makes the queue's `count` first QUEUED runs due now (a conditional write, so any
    sweeper finds them too) and dispatches them; they claim a slot when they start."""
    if count <= 0 or (queue in runtime.jobs and await is_job_paused(runtime, queue)):
        return []  # a paused job's own queue waits for resume_job (core/pauses.py)
    run_ids = await runtime.call(runtime.store.list_queued_runs, queue, limit=count)
    now = runtime.clock.time()
    woken = []
    for run_id in run_ids:
        if await runtime.call(runtime.store.wake_queued_run, run_id, at=now):
            woken.append(run_id)
            await runtime.dispatch(run_id, now)
    return woken


async def release_slot(runtime: Runtime, scope: str, slot: int, run_id: str) -> None:
    """Gives the scope's slot back and wakes its first queued run (best effort: the sweep
    catches a wake-up lost to a store failure)."""
    await runtime.call(runtime.store.release_concurrency_slot, scope, slot, run_id)
    try:
        await wake_queued(runtime, scope)
    except StoreError:
        later = "the sweep" if scope in _swept_scopes(runtime) else "the key's next release"
        logger.warning("waking the queue %s failed; %s will", scope, later)


async def recheck_after_queuing(runtime: Runtime, scope: str, limit: int) -> None:
    """A run just QUEUED: if a slot freed while it was queuing (its holder's wake-up ran
    before this run was in the queue), the first queued run is woken now."""
    if await free_slots(runtime, scope, limit):
        await wake_queued(runtime, scope)


async def sweep_queues(runtime: Runtime) -> list[str]:
    """The safety sweep: for each job's own queue and each shared limit's queue with free
    slots, wake as many of its first queued runs (a job with no limit: up to
    QUEUE_SWEEP_BATCH, the runs a paused job's late-seen resume queued). Keyed queues have
    no listing to sweep."""
    woken: list[str] = []
    for scope, limit in _swept_scopes(runtime).items():
        if await runtime.call(runtime.store.list_queued_runs, scope, limit=1):
            count = await free_slots(runtime, scope, limit) if limit else QUEUE_SWEEP_BATCH
            woken += await wake_queued(runtime, scope, count)
    return woken


def _swept_scopes(runtime: Runtime) -> dict[str, int]:
    """The queues the safety sweep covers, with their limits (0: a job with no limit)."""
    scopes: dict[str, int] = {}
    for job in runtime.jobs.values():
        if job.concurrency_limit and job.concurrency_key is None:
            scopes[queue_scope(job, None)] = job.concurrency_limit
        elif not job.concurrency_limit:
            scopes[job.id] = 0  # no slots: every queued run may go
    return scopes


async def sweep_queues_if_due(runtime: Runtime, now: float) -> list[str]:
    """`sweep_queues` at most once per QUEUE_SWEEP_SECONDS of clock time (Client.tick)."""
    last = _last_sweep.get(runtime)
    if last is not None and now - last < QUEUE_SWEEP_SECONDS:
        return []
    _last_sweep[runtime] = now
    return await sweep_queues(runtime)
