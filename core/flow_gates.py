"""Flow control gates a run passes before its function starts (after the time limits),
in this order (DESIGN.md "Flow control and fleet operations"):

    take_payload   debounce: the latest payload (core/debounces.py); batch: the batch's
                   payloads (core/batches.py); not yet due -> QUEUED ("debounce"/"batch")
    rate limit     a start time given once per run (core/rates.py); later -> QUEUED
                   ("rate") until then, due in the due index
    concurrency    a slot of its scope (the job's, a shared limit's, a key's; core/slots.py);
                   none free -> QUEUED ("concurrency"), woken by a release, never polled

The rate limit and the payload gates apply to a run's start only (no recorded task yet);
the slot is claimed again whenever the run resumes after a wait.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .batches import batch_of, take_batch
from .debounces import take_latest
from .flow import FlowKeyError
from .rates import reserve_start
from .slots import claim_concurrency_slot, queue_scope, recheck_after_queuing
from .types import RunStatus

if TYPE_CHECKING:
    from .flow_state import Gated
    from .jobs import Job
    from .outcome import Outcome


def _is_start(gated: Gated) -> bool:
    """The run has not started its function yet (nothing recorded under it)."""
    return not gated.history.tasks


async def take_payload(gated: Gated, job: Job) -> Outcome | None:
    """A debounced or batched run's payload, taken from its flow state at its start."""
    if gated.run.flow_ref is None or not _is_start(gated):
        return None
    if job.debounce is not None:
        return await take_latest(gated, job)
    if batch_of(job) is not None:
        return await take_batch(gated, job)
    return None


async def claim_start(gated: Gated, job: Job, payload: Any) -> Outcome | None:
    """The rate limit, then a concurrency slot; an Outcome when the run cannot go on now."""
    try:
        if job.rate_limit is not None and _is_start(gated):
            start = gated.run.rate_at
            if start is None:
                start = await reserve_start(gated.runtime, job, gated.run, payload)
                await gated.set_run({"rate_at": start})
            if start > gated.clock.time():
                return await gated.finish(RunStatus.QUEUED, resume_at=start, queued_reason="rate")
        limit = job.concurrency_limit
        if limit is None or gated.run.slot is not None:
            return None
        scope = queue_scope(job, payload)
    except FlowKeyError as exc:
        error = {"type": "FlowKeyError", "message": str(exc)}
        return await gated.finish(RunStatus.FAILED, error=error)
    queue = None if scope == job.id else scope
    if gated.run.queue != queue:
        gated.run = replace(gated.run, queue=queue)
    slot = await gated.call(
        claim_concurrency_slot, gated.store, scope, limit, gated.run.id, gated.clock.time()
    )
    if slot is None:  # not polled: a freed slot wakes the first queued run
        outcome = await gated.finish(RunStatus.QUEUED, queued_reason="concurrency")
        if outcome.status is RunStatus.QUEUED:
            await gated.call(recheck_after_queuing, gated.runtime, scope, limit)
        return outcome
    await gated.set_run({"slot": slot, "queue": queue})
    return None
