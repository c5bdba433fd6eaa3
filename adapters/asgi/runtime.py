"""The app's runtime: the `LocalDispatcher` it gives a client that has none.

Starlette runs a mounted sub-app's lifespan only when the parent forwards it, so the
dispatcher starts on whichever comes first: the lifespan's startup, or the first request
(`LazyStart`). A client without a dispatcher gets a new `LocalDispatcher` (removed again
at shutdown); a client given an unstarted `LocalDispatcher` has that one started and
stopped here; any other dispatcher (SQS on Lambda, one the user runs) is left alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from triggerfish.core import Client, LocalDispatcher

logger = logging.getLogger(__name__)


class Runtime:
    """Starts and stops the app's own `LocalDispatcher`, at most once at a time."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.dispatcher: LocalDispatcher | None = None
        self._is_own = False
        self._lock: asyncio.Lock | None = None

    @property
    def is_started(self) -> bool:
        return self.dispatcher is not None

    def _needs_start(self) -> bool:
        given = self.client.dispatcher
        if self.dispatcher is not None:
            return False
        return given is None or (isinstance(given, LocalDispatcher) and not given.is_started)

    async def start(self) -> None:
        """Starts a `LocalDispatcher` for the client: its own unstarted one, or a new one."""
        if not self._needs_start():
            return
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if not self._needs_start():
                return
            given = self.client.dispatcher
            dispatcher = given if isinstance(given, LocalDispatcher) else LocalDispatcher(self.client)
            self._is_own = dispatcher is not given
            self.client.dispatcher = dispatcher
            self.dispatcher = dispatcher
            await dispatcher.start()
            logger.info("local dispatcher started for client %s", self.client.id)

    async def stop(self) -> None:
        """Stops the dispatcher `start` made and detaches it from the client."""
        dispatcher, self.dispatcher = self.dispatcher, None
        if dispatcher is None:
            return
        await dispatcher.stop()
        if self._is_own and self.client.dispatcher is dispatcher:
            self.client.dispatcher = None
        self._lock = None
        logger.info("local dispatcher stopped for client %s", self.client.id)

    @asynccontextmanager
    async def lifespan(self, app: Any) -> AsyncIterator[None]:
        """The app's lifespan; a parent app that mounts it can enter it from its own."""
        await self.start()
        try:
            yield
        finally:
            await self.stop()


class LazyStart:
    """ASGI middleware: starts the runtime on the first request when no lifespan did."""

    def __init__(self, app: ASGIApp, *, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.runtime.is_started:
            await self.runtime.start()
        await self.app(scope, receive, send)
