"""The lease watch: one daemon thread that renews deadline leases and marks overruns.

An invocation with a deadline (Lambda) holds a short lease (core/lease.py
`first_lease_expiry`) instead of one that lasts until its deadline, so that a killed
process's run is taken over within a minute (issue 17):

    start      +20 s     +40 s     +60 s  ...        deadline - lead   deadline
    |--lease (40 s + grace)
               |renew: now + 40 s (one conditional write, fenced on the lease)
                         |renew    |renew ...         |mark `overrun`   (the platform kills)

    renew   every RENEW_EVERY_SECONDS while the invocation runs, never past deadline + grace;
            an invocation that ends within 20 s writes nothing here
    mark    once, `lead` before the deadline, if the invocation is still running: the run's
            `overrun` field names the task running then (one write, only when it happens),
            so the invocation that takes the lease over knows a timeout from a crash
            (core/crashes.py); the invocation's own end write clears it

Both run on a thread, not the event loop: a sync task fn running inline
(core/io/sync_tasks.py), or any code that blocks the loop, cannot starve the renewal (the
lease would be lost and the task could run twice) nor the mark. Store calls from this
thread are safe on both stores: DynamoDB's botocore client is thread-safe, and SQLiteStore
opens its one connection with check_same_thread=False and uses it only under its lock.
Each call runs in a copy of the invocation's context, so it is counted in the run's usage.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from .errors import StoreError
from .usage import count_store_call

if TYPE_CHECKING:
    from .clock import Clock
    from .store.base import Store

logger = logging.getLogger(__name__)

RENEWABLE_LEASE_SECONDS = 40.0
"""How far ahead (before the grace) an invocation with a deadline holds its lease, renewed
every RENEW_EVERY_SECONDS: a process killed at any moment leaves a lease that expires
within this plus the grace (45 s), and the dead-man's message resumes the run then."""
RENEW_EVERY_SECONDS = 20.0
"""Real seconds between renewals (one write each): two fit in a lease, so one slow or failed
write does not lose it."""
RENEW_RETRY_SECONDS = 2.0
"""After a renewal failed with a store error, the next try is this much later."""
TIMEOUT_MARK_SECONDS = 1.0
"""The mark is written this long before the deadline (at most half the yield margin), so
that it lands before the platform stops the process."""


class WatchedLease(Protocol):
    """What the watch sees of an invocation's lease (core/lease.py `LeaseKeeper`)."""

    store: Store
    clock: Clock
    run_id: str
    owner: str
    expires_at: float
    deadline: float | None
    stop_reason: str | None


class LeaseWatch:
    """One invocation on the watch thread; `stop()` when the invocation ends."""

    def __init__(
        self,
        lease: WatchedLease,
        *,
        grace: float,
        renew: bool,
        mark_in: float | None,
        overrunning: Callable[[], str | None],
    ) -> None:
        self.lease = lease
        self.grace = grace
        self.overrunning = overrunning
        now = time.monotonic()
        self.renew_at = now + RENEW_EVERY_SECONDS if renew else None
        self.mark_at = None if mark_in is None else now + max(0.0, mark_in)
        self.is_stopped = False
        self.marked_key: str | None = None
        self._context = contextvars.copy_context()
        self.next_at = self._next()

    def stop(self) -> None:
        """The invocation ended: nothing more is written for it."""
        self.is_stopped = True

    def _next(self) -> float:
        times = [t for t in (self.renew_at, self.mark_at) if t is not None]
        return min(times) if times else float("inf")

    def fire(self) -> None:
        """Does what is due (on the watch thread)."""
        if self.is_stopped:
            return
        self._context.run(self._fire)
        self.next_at = self._next()

    def _fire(self) -> None:
        now = time.monotonic()
        if self.mark_at is not None and now >= self.mark_at:
            self.mark_at = None
            self._mark()
        if self.renew_at is not None and now >= self.renew_at and not self.is_stopped:
            self._renew()

    def _write(self, changes: dict[str, Any]) -> bool:
        lease = self.lease
        if not getattr(lease.store, "counts_requests", False):
            count_store_call("update_run")
        return lease.store.update_run(lease.run_id, owner=lease.owner, changes=changes)

    def _renew(self) -> None:
        lease = self.lease
        deadline = lease.deadline if lease.deadline is not None else float("inf")
        expires_at = min(lease.clock.time() + RENEWABLE_LEASE_SECONDS, deadline) + self.grace
        try:
            is_renewed = self._write({"lease_expires_at": expires_at, "due_at": expires_at})
        except StoreError as exc:
            logger.warning("run %s: lease renewal failed (%s); retrying", lease.run_id, exc)
            self.renew_at = time.monotonic() + RENEW_RETRY_SECONDS
            return
        if not is_renewed:  # ended meanwhile, canceled, or taken over: stop before new work
            if not self.is_stopped:
                lease.stop_reason = lease.stop_reason or "lease lost"
            self.renew_at = self.mark_at = None
            return
        lease.expires_at = expires_at
        is_last = expires_at >= deadline + self.grace
        self.renew_at = None if is_last else time.monotonic() + RENEW_EVERY_SECONDS

    def _mark(self) -> None:
        lease = self.lease
        key = self.overrunning()
        try:
            is_marked = self._write({"overrun": {"key": key, "at": lease.clock.time()}})
        except StoreError as exc:
            logger.warning("run %s: could not mark the overrun (%s)", lease.run_id, exc)
            return
        if is_marked:
            self.marked_key = key
            logger.warning("run %s: %s still running just before the invocation's deadline",
                           lease.run_id, "the run function" if key is None else f"task {key}",
                           extra={"run_id": lease.run_id, "task_key": key})  # fmt: skip


class _WatchThread:
    """The one watch thread of a process, started on first use."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._watches: list[LeaseWatch] = []
        thread = threading.Thread(target=self._run, name="triggerfish-lease-watch", daemon=True)
        thread.start()

    def add(self, watch: LeaseWatch) -> None:
        with self._cond:
            self._watches.append(watch)
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    self._watches = [w for w in self._watches
                                     if not w.is_stopped and w.next_at != float("inf")]  # fmt: skip
                    now = time.monotonic()
                    due = [w for w in self._watches if w.next_at <= now]
                    if due:
                        break
                    soonest = min((w.next_at for w in self._watches), default=None)
                    self._cond.wait(None if soonest is None else soonest - now)
            for watch in due:
                try:
                    watch.fire()
                except Exception:
                    logger.exception("lease watch of run %s failed", watch.lease.run_id)
                    watch.stop()


_thread: _WatchThread | None = None
_thread_lock = threading.Lock()


def watch(watch: LeaseWatch) -> LeaseWatch:
    """Puts `watch` on the process's watch thread (started on first use)."""
    global _thread
    with _thread_lock:
        if _thread is None:
            _thread = _WatchThread()
    _thread.add(watch)
    return watch


def _after_fork() -> None:
    """A forked child has no watch thread: it starts one on first use."""
    global _thread
    _thread = None


try:
    import os

    os.register_at_fork(after_in_child=_after_fork)
except AttributeError:  # no fork on this platform
    pass
