"""`Runtime`: what an invocation needs from its client, and nothing more.

`Client` builds one and owns it; the engine, the gates, the io primitives and the fetch
worker take a `Runtime`, never the `Client`, so no module below client.py imports it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from .store.calls import call_store

if TYPE_CHECKING:
    from .clock import Clock
    from .dispatch.base import Dispatcher
    from .flow import ConcurrencyLimit
    from .jobs import Job
    from .lease import LeaseKeeper
    from .serdes import Serdes
    from .store.base import Store
    from .tracing import Tracer
    from .usage import Prices

T = TypeVar("T")

DEFAULT_YIELD_MARGIN_SECONDS = 10.0
"""Stop starting new work this long before the deadline (Lambda's default budget)."""
SHORT_BUDGET_MARGIN_FRACTION = 0.2
"""For short budgets the default margin shrinks to this share of the invocation's budget."""


@dataclass(eq=False)
class Runtime:
    """The store, clock and dispatcher of a client, its jobs and the settings runs read."""

    store: Store
    clock: Clock
    dispatcher: Dispatcher | None = None
    jobs: dict[str, Job] = field(default_factory=dict)
    environment: str = "dev"
    organization: str | None = None
    auth_resolvers: dict[str, Any] = field(default_factory=dict)
    yield_margin: float | None = None
    """Seconds before the deadline to stop starting work; None: see `yield_margin_for`."""
    active_invocations: dict[str, LeaseKeeper] = field(default_factory=dict)
    """Runs this process is executing now (one invocation per run per process)."""
    prices: Prices | None = None
    """The price table of `Run.cost_usd` (None: the defaults of core/usage.py)."""
    retention_seconds: float | None = None
    """How long finished runs are kept (a job's `retention` wins); None: forever."""
    tracer: Tracer | None = None
    """OpenTelemetry spans (core/otel.py `instrument`); None: no tracing, nothing imported."""
    base_url: str | None = None
    """Where the ASGI app is reachable (`Client(base_url=)`): io.wait_for_request's URLs."""
    connection_key: bytes | None = None
    """The key that seals stored connections (`Client(connection_key=)`, core/sealing.py)."""
    served_base_url: str | None = None
    """The base URL of the first request the ASGI app served; used when `base_url` is None."""
    serdes: Serdes | None = None
    """Task outputs' serializer (`Client(serdes=)`); None: the default `JsonSerdes`."""
    concurrency_limits: dict[str, ConcurrencyLimit] = field(default_factory=dict)
    """Shared limits by id (`Client.define_concurrency_limit`)."""

    def yield_margin_for(self, budget_seconds: float | None) -> float:
        """The yield margin for an invocation with this budget (None: no deadline)."""
        if self.yield_margin is not None:
            return self.yield_margin
        if budget_seconds is None:
            return 0.0
        return min(
            DEFAULT_YIELD_MARGIN_SECONDS, max(0.0, budget_seconds) * SHORT_BUDGET_MARGIN_FRACTION
        )

    def expires_at(self, job_id: str, now: float) -> float | None:
        """When a run of `job_id` that ends at `now` is deleted: its job's `retention`, else
        the client's; None: kept forever."""
        job = self.jobs.get(job_id)
        seconds = job.retention if job is not None and job.retention is not None else (
            self.retention_seconds
        )
        return None if seconds is None or seconds == math.inf else now + seconds

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A store primitive called from async code (see `call_store`)."""
        return await call_store(self.store, fn, *args, **kwargs)

    async def dispatch(self, run_id: str, at: float) -> None:
        """Asks the dispatcher, if any, to execute the run at `at`."""
        if self.dispatcher is not None:
            await self.dispatcher.dispatch(run_id, at)

    async def dispatch_check(self, run_id: str, at: float) -> None:
        """The dead-man's switch: asks the dispatcher to look at the run's lease at `at`
        (core/acquire.py). A dispatcher without `dispatch_check` gets none: a plain
        dispatch would execute a run that ended QUEUED meanwhile, ahead of older queued
        runs (its queue's order, core/slots.py); the sweeper stays the backstop there."""
        check = getattr(self.dispatcher, "dispatch_check", None)
        if check is not None:
            await check(run_id, at)


class HasRuntime(Protocol):
    """Anything that owns a runtime (the `Client`)."""

    @property
    def runtime(self) -> Runtime: ...


def runtime_of(owner: Runtime | HasRuntime) -> Runtime:
    """The runtime itself, or the one its owner (a `Client`) holds."""
    return owner if isinstance(owner, Runtime) else owner.runtime
