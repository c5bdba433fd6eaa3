"""`LeaseKeeper`: holds an invocation's lease and notices when it must stop.

invocation with a deadline     lease = min(now + 40 s, deadline) + grace, renewed every
                               20 s by the lease watch thread (core/lease_watch.py), which
                               also marks the task still running just before the deadline;
                               a lease shorter than the deadline arms the dead-man's switch:
                               "check the run at the lease's expiry" to the dispatcher
invocation without a deadline  lease = now + DEFAULT_LEASE_SECONDS + grace, renewed
                               between tasks when half is used, and by a heartbeat
                               (every HEARTBEAT_SECONDS, writing once a third is used)
                               while a long task runs (moving the due time with it)
run canceled meanwhile         seen at once in this process (Client.cancel_run), and
                               through a read at most every CANCEL_CHECK_SECONDS
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from .errors import StoreError, Suspend
from .lease_watch import RENEWABLE_LEASE_SECONDS, TIMEOUT_MARK_SECONDS, LeaseWatch, watch
from .store.calls import call_store

if TYPE_CHECKING:
    from .clock import Clock
    from .store.base import Store, TaskRecord

logger = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 30.0
"""Lease length for an invocation without a deadline (the local server); renewed as it runs,
so a server killed mid-run leaves a lease that expires, and a new server resumes, within
about half a minute."""
LEASE_GRACE_SECONDS = 5.0
"""A lease outlives its invocation's deadline by this much before others may take it."""
HEARTBEAT_SECONDS = 10.0
"""How often (real time) a running invocation without a deadline renews its lease: three
beats fit in one lease, so one slow store write does not lose it."""
CANCEL_CHECK_SECONDS = 1.0
"""Before a new task, the run's status is read again at most this often (clock time)."""


def first_lease_expiry(now: float, deadline: float | None) -> float:
    """When the lease an invocation takes at `now` expires (see the module docstring)."""
    if deadline is None:
        return now + DEFAULT_LEASE_SECONDS + LEASE_GRACE_SECONDS
    return min(max(deadline, now), now + RENEWABLE_LEASE_SECONDS) + LEASE_GRACE_SECONDS


def is_renewable(lease_expires_at: float, deadline: float | None) -> bool:
    """Whether a lease of an invocation with `deadline` ends before it (renewed, watched)."""
    return deadline is not None and lease_expires_at < deadline + LEASE_GRACE_SECONDS


def overrunning_key(running: dict[str, TaskRecord]) -> str | None:
    """The key of the task that has run longest among those running with no running child
    (None: none is running); read from the watch thread, so on a copy."""
    for _ in range(3):
        try:
            tasks = list(running.values())
            break
        except RuntimeError:  # changed size while copied: try again
            continue
    else:
        return None
    parents = {task.parent_id for task in tasks}
    leaves = [task for task in tasks if task.id not in parents]
    if not leaves:
        return None
    return min(leaves, key=lambda task: task.started_at or 0.0).key


class LeaseKeeper:
    """The lease of one invocation; `check()` before each new task raises Suspend to stop."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        run_id: str,
        *,
        owner: str,
        expires_at: float,
        deadline: float | None,
        margin: float = 0.0,
        running: dict[str, TaskRecord] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.run_id = run_id
        self.owner = owner
        self.expires_at = expires_at
        self.deadline = deadline
        self.stop_reason: str | None = None
        self._last_check = clock.time()
        self._heartbeat: asyncio.Task[None] | None = None
        self._first_beat: asyncio.TimerHandle | None = None
        self.margin = margin
        self.running: dict[str, TaskRecord] = {} if running is None else running
        self.watch: LeaseWatch | None = None
        self.is_renewable = deadline is None or is_renewable(expires_at, deadline)
        self._length = DEFAULT_LEASE_SECONDS if deadline is None else RENEWABLE_LEASE_SECONDS

    def mark_canceled(self) -> None:
        """Called in-process by `Client.cancel_run`: no new task starts from here on."""
        self.stop_reason = "canceled"

    def is_check_due(self, now: float) -> bool:
        """Whether `check()` has anything to do at `now` (a stop, a read or a renewal due);
        lets the engine skip the call, and its await, before most tasks."""
        return (
            self.stop_reason is not None
            or now - self._last_check >= CANCEL_CHECK_SECONDS
            or (self.expires_at - now < self._length / 2 and self._is_low(now))
        )

    def _is_low(self, now: float) -> bool:
        """A renewable lease with less than half its length left (the heartbeat is late,
        or a skipping clock jumped): renewed between tasks. Not one that already reaches
        the deadline plus grace: a renewal could not extend it, and would write before every
        task of the invocation's last 20 s (issue 17, bench/cost.py)."""
        if not self.is_renewable or self.expires_at - now >= self._length / 2:
            return False
        return self.deadline is None or self.expires_at < self.deadline + LEASE_GRACE_SECONDS

    async def check(self) -> None:
        """Raises Suspend when the run was canceled or the lease lost; renews when low."""
        now = self.clock.time()
        if self.stop_reason is None and now - self._last_check >= CANCEL_CHECK_SECONDS:
            self._last_check = now
            current = await call_store(self.store, self.store.get_run, self.run_id)
            if current is None or current.status.is_final:
                self.stop_reason = "canceled"
            elif current.lease_owner != self.owner:
                self.stop_reason = "lease lost"
        if self.stop_reason is not None:
            raise Suspend(None, reason=self.stop_reason)
        if self._is_low(now):
            await self.renew()
            if self.stop_reason is not None:
                raise Suspend(None, reason=self.stop_reason)

    async def renew(self) -> None:
        """Extends the lease (and the run's due time) by its length, not past the deadline."""
        ends_at = self.clock.time() + self._length
        if self.deadline is not None:
            ends_at = min(ends_at, self.deadline)
        expires_at = ends_at + LEASE_GRACE_SECONDS
        changes: dict[str, Any] = {"lease_expires_at": expires_at, "due_at": expires_at}
        if await call_store(
            self.store, self.store.update_run, self.run_id, owner=self.owner, changes=changes
        ):
            self.expires_at = expires_at
        else:
            self.stop_reason = "lease lost"

    def start_heartbeat(self) -> None:
        """Renews the lease in the background while the run function runs (no deadline).

        Most invocations end well within a beat: a timer, not a task, waits for the first
        one, so they pay no task created and cancelled (bench/throughput.py).
        """
        if self.deadline is not None:
            self._start_watch(self.deadline)
        elif self._heartbeat is None and self._first_beat is None:
            loop = asyncio.get_running_loop()
            self._first_beat = loop.call_later(HEARTBEAT_SECONDS, self._start_beating, loop)

    def _start_watch(self, deadline: float) -> None:
        """Puts this lease on the watch thread: renewals when it is shorter than the
        deadline, and the overrun mark (see core/lease_watch.py)."""
        if self.watch is not None:
            return
        budget = deadline - self.clock.time()
        lead = min(TIMEOUT_MARK_SECONDS, self.margin / 2 if self.margin > 0 else budget / 20)
        running = self.running
        self.watch = watch(LeaseWatch(
            self, grace=LEASE_GRACE_SECONDS, renew=is_renewable(self.expires_at, deadline),
            mark_in=budget - lead, overrunning=lambda: overrunning_key(running),
        ))  # fmt: skip

    def _start_beating(self, loop: asyncio.AbstractEventLoop) -> None:
        self._first_beat = None
        self._heartbeat = loop.create_task(self._beat())

    async def stop_heartbeat(self) -> None:
        """Stops the background renewal."""
        if self.watch is not None:
            self.watch.stop()
        if self._first_beat is not None:
            self._first_beat.cancel()
            self._first_beat = None
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)
            self._heartbeat = None

    async def _beat(self) -> None:
        """Started one beat in: renews when a third of the lease is used, then every beat."""
        while self.stop_reason is None:
            if self.expires_at - self.clock.time() <= DEFAULT_LEASE_SECONDS * 2 / 3:
                try:
                    await self.renew()
                except StoreError:
                    logger.warning("run %s: lease renewal failed; retrying", self.run_id)
            # else renewed between tasks meanwhile: no write needed yet
            await asyncio.sleep(HEARTBEAT_SECONDS)
