"""`LocalDispatcher`: resumes runs in this process with asyncio timers."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from ..io.sync_tasks import share_loop, unshare_loop

if TYPE_CHECKING:
    from ..client import Client
    from ..fetch import FetchMessage

logger = logging.getLogger(__name__)

SWEEP_INTERVAL_SECONDS = 1.0


class LocalDispatcher:
    """Runs `client.execute` at each requested time, one invocation per run at a time.

    `start()` recovers every unfinished run from the store and starts the sweeper, so a
    run left behind by a stopped process resumes here.
    """

    def __init__(
        self,
        client: Client | None = None,
        *,
        sweep_interval_seconds: float = SWEEP_INTERVAL_SECONDS,
    ) -> None:
        self._client = client
        self.sweep_interval_seconds = sweep_interval_seconds
        self._timers: dict[str, tuple[float, asyncio.TimerHandle]] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._fetches: set[asyncio.Task[None]] = set()

    @property
    def client(self) -> Client:
        """The client whose runs this dispatcher executes (set by `Client(dispatcher=...)`)."""
        if self._client is None:
            raise RuntimeError("LocalDispatcher is not bound: pass it to Client(dispatcher=...)")
        return self._client

    def bind(self, client: Client) -> None:
        """Attaches the dispatcher to its client; `Client.__init__` calls this."""
        self._client = client

    @property
    def is_started(self) -> bool:
        """True while the sweeper runs (after `start()`, before `stop()`)."""
        return self._sweeper is not None

    async def dispatch(self, run_id: str, at: float) -> None:
        """Schedules an invocation of `run_id` at `at` (keeps the earliest request)."""
        loop = asyncio.get_running_loop()
        current = self._timers.get(run_id)
        if current is not None:
            if current[0] <= at:
                return
            current[1].cancel()
        delay = max(0.0, at - self.client.clock.time())
        handle = loop.call_later(delay, self._fire, run_id)
        self._timers[run_id] = (at, handle)

    async def send_fetch(self, message: FetchMessage) -> None:
        """Performs a background fetch in this process, beside the runs."""
        from ..fetch import perform_fetch

        task = asyncio.get_running_loop().create_task(perform_fetch(self.client, message))
        self._fetches.add(task)
        task.add_done_callback(self._fetches.discard)

    def _fire(self, run_id: str) -> None:
        self._timers.pop(run_id, None)
        if run_id in self._running:
            self._again.add(run_id)
            return
        task = asyncio.get_running_loop().create_task(self._execute(run_id))
        self._running[run_id] = task

    async def _execute(self, run_id: str) -> None:
        try:
            await self.client.execute(run_id)
        except Exception:
            logger.exception("invocation of run %s failed", run_id, extra={"run_id": run_id})
        finally:
            self._running.pop(run_id, None)
        if run_id in self._again:
            self._again.discard(run_id)
            await self.dispatch(run_id, self.client.clock.time())

    async def start(self) -> None:
        """Recovers unfinished runs and starts the sweeper loop."""
        await self.client.tick()
        if self._sweeper is None:
            loop = asyncio.get_running_loop()
            self._sweeper = loop.create_task(self._sweep())
            share_loop(loop)  # many runs and requests on this loop: sync fns in threads

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_interval_seconds)
            try:
                await self.client.tick()
            except Exception:
                logger.exception("sweep failed")

    async def stop(self) -> None:
        """Stops the sweeper and the timers, and waits for running invocations."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None
            unshare_loop(asyncio.get_running_loop())
        for _, handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        await asyncio.gather(*self._running.values(), *self._fetches, return_exceptions=True)

    async def wait_idle(self) -> None:
        """Waits until no invocation is running (timers may still be set)."""
        while self._running:
            await asyncio.gather(*list(self._running.values()), return_exceptions=True)
