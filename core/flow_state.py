"""Flow state: small versioned documents in the store (`get_flow`, `put_flow`) from which
rate windows, debounces and batches are made, each change one compare-and-set.

A writer reads the document, computes the next one and writes it only if the version is
still the one it read; on a lost race it reads again. Racing senders on separate clients
therefore never lose or repeat a change (tests/core/test_batches.py).
"""

from __future__ import annotations

import asyncio
import os
import random
from typing import TYPE_CHECKING, Any, Protocol

from .errors import StoreError
from .store.base import FlowRecord

if TYPE_CHECKING:
    from .clock import Clock
    from .outcome import Outcome
    from .runtime import Runtime
    from .store.base import History, RunRecord, Store
    from .types import RunStatus

MAX_FLOW_ATTEMPTS = 64
"""Compare-and-set attempts before a change gives up (a StoreError the caller may retry)."""
FLOW_KEEP_SECONDS = 7 * 24 * 3600.0
"""How long after its last change the store keeps a flow document (DynamoDB's TTL)."""


class Gated(Protocol):
    """What the flow gates (core/flow_gates.py) see of an invocation (`Invocation`)."""

    runtime: Runtime
    store: Store
    clock: Clock
    run: RunRecord
    history: History

    async def finish(
        self,
        status: RunStatus,
        *,
        output_json: str | None = None,
        error: dict[str, Any] | None = None,
        resume_at: float | None = None,
        idle_yields: int = 0,
        queued_reason: str | None = None,
    ) -> Outcome: ...

    async def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any: ...

    async def set_run(self, changes: dict[str, Any]) -> None: ...


async def read_flow(runtime: Runtime, name: str) -> FlowRecord | None:
    """The flow document of this name (a consistent read), or None."""
    flow: FlowRecord | None = await runtime.call(runtime.store.get_flow, name)
    return flow


async def write_flow(
    runtime: Runtime, name: str, data: dict[str, Any], *, read: FlowRecord | None
) -> bool:
    """Writes `data` as the next version after `read` (None: creates it); False if another
    writer changed it since."""
    flow = FlowRecord(
        name=name,
        version=1 if read is None else read.version + 1,
        data=data,
        writer=os.urandom(8).hex(),
        expires_at=runtime.clock.time() + FLOW_KEEP_SECONDS,
    )
    expected = None if read is None else read.version
    written: bool = await runtime.call(runtime.store.put_flow, flow, expected_version=expected)
    return written


async def lost_race(name: str, attempt: int) -> None:
    """After a lost compare-and-set: a short random pause, or a StoreError past the limit."""
    if attempt + 1 >= MAX_FLOW_ATTEMPTS:
        raise StoreError(f"flow state {name} kept changing under {MAX_FLOW_ATTEMPTS} attempts "
                         "to change it; try again")  # fmt: skip
    await asyncio.sleep(random.random() * 0.002 * min(attempt + 1, 10))
