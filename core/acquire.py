"""Steps 1 and 2 of the resume protocol: take the run's lease, then read its history.

    lease_run (one conditional write)  the common case: a live run, due, its lease free
    else read the run, then:           final -> its status (its end hooks called if a
                                       crash left them due); waiting and not due ->
                                       dispatched again for its time; leased elsewhere ->
                                       its status; an expired lease -> taken over (counted)
    history                            none on a run's very first lease, else one query

The dead-man's switch (issue 17): an invocation whose lease is shorter than its deadline
(renewed by core/lease_watch.py) asks the dispatcher to check the run when that lease
expires. A check (`lease_check` set, e.g. by the SQS worker for a "check" message) reads
first, writing nothing unless the lease it finds has expired:

    run final, or not leased and not due     -> nothing (its own end dispatched it)
    leased, the lease live                   -> checked again at that lease's expiry
    leased, the lease expired (a dead owner) -> taken over: the run resumes now

Any execute that finds a live short lease held by another process re-dispatches a check at
its expiry too, so a duplicate delivery keeps the switch armed rather than dropping it.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import TYPE_CHECKING

from . import ends
from .errors import RunNotFound, StoreError
from .lease import LEASE_GRACE_SECONDS, is_renewable
from .lease_watch import RENEWABLE_LEASE_SECONDS
from .outcome import Outcome, new_outcome
from .store.base import History
from .types import RunStatus

if TYPE_CHECKING:
    from .runtime import Runtime
    from .store.base import RunRecord

logger = logging.getLogger(__name__)

STORE_RETRY_SECONDS = 5.0
"""After a store failure, the run is due again this much later."""

lease_check: ContextVar[bool] = ContextVar("triggerfish_lease_check", default=False)
"""Set while executing a dead-man's check message: read before writing anything."""


async def take_lease(
    runtime: Runtime,
    run_id: str,
    owner: str,
    now: float,
    lease_expires_at: float,
    deadline: float | None = None,
) -> RunRecord | Outcome:
    """The leased run, or the Outcome to answer at once when it cannot be leased now."""
    store = runtime.store
    lease_run = getattr(store, "lease_run", None)
    leased: RunRecord | Outcome | None = None
    if lease_run is not None and run_id not in runtime.active_invocations and not lease_check.get():
        leased = await runtime.call(
            lease_run, run_id, owner=owner, now=now, lease_expires_at=lease_expires_at
        )
    if leased is None:
        leased = await _lease_after_reading(runtime, run_id, owner, now, lease_expires_at)
    if not isinstance(leased, Outcome) and is_renewable(lease_expires_at, deadline):
        await _arm_dead_man(runtime, run_id, lease_expires_at)
    return leased


async def _arm_dead_man(runtime: Runtime, run_id: str, at: float) -> None:
    """Check the run at `at` (best effort: the sweeper is the backstop if this fails)."""
    try:
        await runtime.dispatch_check(run_id, at)
    except Exception as exc:  # noqa: BLE001 - a queue error must not stop the invocation
        logger.warning("run %s: the dead-man's check could not be sent: %r", run_id, exc)


async def _lease_after_reading(
    runtime: Runtime, run_id: str, owner: str, now: float, lease_expires_at: float
) -> RunRecord | Outcome:
    """Reads the run, then leases it or answers why not (final, early, leased elsewhere)."""
    store = runtime.store
    run = await runtime.call(store.get_run, run_id)
    if run is None:
        raise RunNotFound(run_id)
    if run.status.is_final and run.hooks_due_at is not None:
        await ends.call_hooks(runtime, run)  # a crash left its end hook uncalled
    if run.status.is_final or run_id in runtime.active_invocations:
        return new_outcome(run.status)
    is_due = run.due_at is not None and run.due_at <= now
    if run.lease_owner is None and not is_due and lease_check.get():
        return new_outcome(run.status)  # ended cleanly since: its own end dispatched it
    if run.status is RunStatus.WAITING and run.resume_at is not None and run.resume_at > now:
        # Woken early (a lost timer, a duplicate message): ask again for the right time.
        await runtime.dispatch(run_id, run.resume_at)
        return new_outcome(run.status, run.resume_at)
    is_lease_expired = run.lease_expires_at is not None and run.lease_expires_at < now
    if run.lease_owner is not None and not is_lease_expired:
        expires_at = run.lease_expires_at
        if (
            expires_at is not None
            and expires_at - now <= RENEWABLE_LEASE_SECONDS + LEASE_GRACE_SECONDS
        ):
            await _arm_dead_man(runtime, run_id, expires_at)  # alive elsewhere: look again then
        return new_outcome(run.status)
    leased: RunRecord | None = await runtime.call(
        store.acquire_lease,
        run_id,
        owner=owner,
        now=now,
        lease_expires_at=lease_expires_at,
        expired_owner=run.lease_owner if is_lease_expired else None,
    )
    if leased is None:
        current = await runtime.call(store.get_run, run_id)
        return new_outcome(current.status if current else run.status)
    return leased


async def load_history(runtime: Runtime, leased: RunRecord) -> History:
    """The run's recorded tasks and logs; none to read on a run's very first lease.

    Only an invocation writes tasks and logs under a run, and every invocation first takes
    the lease, which counts it: a first lease (never retried) has nothing recorded before it.
    """
    if leased.invocation_count == 1 and leased.retries == 0 and leased.lost_leases == 0:
        return History()
    history: History = await runtime.call(runtime.store.load_history, leased.id)
    return history


async def release_after_store_error(runtime: Runtime, run: RunRecord, owner: str) -> bool:
    """Best effort: give the lease back so the run is due again soon, not at lease expiry."""
    retry_at = runtime.clock.time() + STORE_RETRY_SECONDS
    changes = {"lease_owner": None, "lease_expires_at": None, "due_at": retry_at,
               "resume_at": retry_at}  # fmt: skip
    try:
        return await runtime.call(runtime.store.update_run, run.id, owner=owner, changes=changes)
    except StoreError:
        return False
