"""`LeaseKeeper`: holds an invocation's lease and notices when it must stop.

    invocation with a deadline     lease = deadline + grace; nothing to renew
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
from .store.calls import call_store

if TYPE_CHECKING:
    from .clock import Clock
    from .store.base import Store

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

    def mark_canceled(self) -> None:
        """Called in-process by `Client.cancel_run`: no new task starts from here on."""
        self.stop_reason = "canceled"

    def is_check_due(self, now: float) -> bool:
        """Whether `check()` has anything to do at `now` (a stop, a read or a renewal due);
        lets the engine skip the call, and its await, before most tasks."""
        return (
            self.stop_reason is not None
            or now - self._last_check >= CANCEL_CHECK_SECONDS
            or (self.deadline is None and self.expires_at - now < DEFAULT_LEASE_SECONDS / 2)
        )

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
        if self.deadline is None and self.expires_at - now < DEFAULT_LEASE_SECONDS / 2:
            await self.renew()
            if self.stop_reason is not None:
                raise Suspend(None, reason=self.stop_reason)

    async def renew(self) -> None:
        """Extends the lease (and the run's due time) by DEFAULT_LEASE_SECONDS."""
        expires_at = self.clock.time() + DEFAULT_LEASE_SECONDS + LEASE_GRACE_SECONDS
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
        if self.deadline is None and self._heartbeat is None and self._first_beat is None:
            loop = asyncio.get_running_loop()
            self._first_beat = loop.call_later(HEARTBEAT_SECONDS, self._start_beating, loop)

    def _start_beating(self, loop: asyncio.AbstractEventLoop) -> None:
        self._first_beat = None
        self._heartbeat = loop.create_task(self._beat())

    async def stop_heartbeat(self) -> None:
        """Stops the background renewal."""
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
