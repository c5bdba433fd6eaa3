"""Two record shapes io primitives share, built on the Port's plug-in surface.

    recorded_value   a value made once and recorded COMPLETED; replays return it (io.random,
                     io.now)
    wait_for_wake    a wait-kind record, WAITING until another writer makes it final (an
                     event, a request, a child's end) or until its resume time (io.wait)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..serialize import dump_json, load_json
from ..types import TaskStatus

if TYPE_CHECKING:
    from ..port import Claim, Port
    from ..store.base import TaskRecord


async def recorded_value(
    inv: Port, claim: Claim, make: Callable[[], Any], *, kind: str, name: str | None = None
) -> Any:
    """`make()` once for this run, recorded under the claimed key; replays return that value."""
    inv.check_kind(claim, kind)
    if claim.recorded is not None and claim.recorded.status.is_final:
        return inv.replay(claim.key, claim.recorded)
    await inv.check_budget()
    await inv.record_parent_running()
    now = inv.clock.time()
    output_json = dump_json(make(), key=claim.key)
    task = claim.task(kind=kind, status=TaskStatus.COMPLETED, attempts=1, name=name,
                      output_json=output_json, started_at=now, completed_at=now)  # fmt: skip
    final = await inv.record(task)
    inv.executed_count += 1
    return inv.replay(claim.key, final) if final is not task else load_json(output_json)


async def wait_for_wake(
    inv: Port,
    claim: Claim,
    *,
    kind: str,
    resume_at: float | None,
    on_timeout: Callable[[TaskRecord, float], TaskRecord] | None = None,
    **fields: Any,
) -> TaskRecord:
    """The final record of a wait-kind task; suspends the run (WAITING) until it is final.

    First call: records the task WAITING until `resume_at` (None: until woken). Whoever
    wakes the run records the task final first (a conditional write) and calls `wake`.
    At `resume_at` with the task still WAITING, `on_timeout(record, now)` (default:
    COMPLETED without output) is recorded. Replays of a final record write nothing.
    """
    inv.check_kind(claim, kind)
    recorded = claim.recorded
    now = inv.clock.time()
    if recorded is not None and recorded.status.is_final:
        inv.replayed_count += 1
        return recorded
    if recorded is None:
        await inv.record_parent_running()
        recorded = claim.task(kind=kind, status=TaskStatus.WAITING, attempts=1, started_at=now,
                              resume_at=resume_at, **fields)  # fmt: skip
        if resume_at is None or resume_at > now:
            recorded = await inv.record(recorded)
            if recorded.status.is_final:
                return recorded
    if recorded.resume_at is None or recorded.resume_at > now:
        raise inv.suspend(recorded.resume_at, "wait")
    if on_timeout is not None:
        return await inv.record(on_timeout(recorded, now))
    return await inv.record(replace(recorded, status=TaskStatus.COMPLETED, completed_at=now))
