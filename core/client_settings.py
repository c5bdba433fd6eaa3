"""`ClientSettings`: the parts of a client's `Runtime`, readable and settable on the client.

A base of `Client` (core/client.py): each setting is checked the same way whether it is
given to the constructor or set later on a built client (issue 21.5: a test swaps the
store, the clock or the base URL of the user's own client).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .times import checked_seconds
from .usage import Prices, retention_seconds

if TYPE_CHECKING:
    from .clock import Clock
    from .dispatch.base import Dispatcher
    from .jobs import Job
    from .lease import LeaseKeeper
    from .runtime import Runtime
    from .store.base import Store

__all__ = ["ClientSettings", "check_store", "checked_yield_margin"]


class ClientSettings:
    """The runtime's parts as properties of the client."""

    runtime: Runtime

    # -- the runtime's parts, readable and settable here --------------------------------

    @property
    def store(self) -> Store:
        """Where runs, tasks, logs and events are kept."""
        return self.runtime.store

    @store.setter
    def store(self, store: Store) -> None:
        check_store(store)
        self.runtime.store = store

    @property
    def clock(self) -> Clock:
        """The clock every deadline and due time is read from."""
        return self.runtime.clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        if not callable(getattr(clock, "time", None)) or not callable(getattr(clock, "sleep", None)):
            raise ConfigError(
                f"Client clock must be a Clock (SystemClock(), SkippingClock()), got {clock!r}"
            )
        self.runtime.clock = clock

    @property
    def dispatcher(self) -> Dispatcher | None:
        """Arranges "run R again at T"; None: the caller drives `execute` itself."""
        return self.runtime.dispatcher

    @dispatcher.setter
    def dispatcher(self, dispatcher: Dispatcher | None) -> None:
        self.runtime.dispatcher = dispatcher

    @property
    def environment(self) -> str:
        """The environment runs are started in (`ctx.environment`)."""
        return self.runtime.environment

    @environment.setter
    def environment(self, environment: str) -> None:
        self.runtime.environment = environment

    @property
    def organization(self) -> str | None:
        """`ctx.organization` of every run."""
        return self.runtime.organization

    @organization.setter
    def organization(self, organization: str | None) -> None:
        self.runtime.organization = organization

    @property
    def auth_resolvers(self) -> dict[str, Any]:
        """Integration name -> ``resolver(ctx, integration)`` (see gates.py)."""
        return self.runtime.auth_resolvers

    @auth_resolvers.setter
    def auth_resolvers(self, resolvers: dict[str, Any]) -> None:
        self.runtime.auth_resolvers = resolvers

    @property
    def yield_margin(self) -> float | None:
        """Seconds before a deadline to stop starting work (None: the default rule)."""
        return self.runtime.yield_margin

    @yield_margin.setter
    def yield_margin(self, yield_margin: float | timedelta | None) -> None:
        self.runtime.yield_margin = checked_yield_margin(yield_margin)

    @property
    def base_url(self) -> str | None:
        """Public base URL of the ASGI app, for io.wait_for_request's callback URLs.

        None: the ASGI app's first served request gives it (docs/reference.md).
        """
        return self.runtime.base_url

    @base_url.setter
    def base_url(self, base_url: str | None) -> None:
        if base_url is not None and (
            not isinstance(base_url, str) or not base_url.startswith(("http://", "https://"))
        ):
            raise ConfigError(f"base_url must start with http:// or https://, got {base_url!r}")
        self.runtime.base_url = base_url

    @property
    def prices(self) -> Prices | None:
        """The price table of `Run.cost_usd` (None: the defaults of core/usage.py)."""
        return self.runtime.prices

    @prices.setter
    def prices(self, prices: Prices | None) -> None:
        if prices is not None and not isinstance(prices, Prices):
            raise ConfigError(f"prices must be a Prices or None, got {type(prices).__name__}")
        self.runtime.prices = prices

    @property
    def retention(self) -> timedelta | None:
        """How long a finished run is kept (a job's own `retention` wins); None: forever."""
        seconds = self.runtime.retention_seconds
        return None if seconds is None else timedelta(seconds=seconds)

    @retention.setter
    def retention(self, retention: timedelta | None) -> None:
        self.runtime.retention_seconds = retention_seconds(retention, "Client retention")

    @property
    def jobs(self) -> dict[str, Job]:
        """The defined jobs by id."""
        return self.runtime.jobs

    @property
    def active_invocations(self) -> dict[str, LeaseKeeper]:
        """Runs this process is executing now (one invocation per run per process)."""
        return self.runtime.active_invocations



def check_store(store: object) -> None:
    """A ConfigError unless `store` looks like a Store (the constructor and the setter)."""
    if not all(callable(getattr(store, name, None)) for name in ("get_run", "create_run")):
        raise ConfigError(
            f"Client store must be a Store (SQLiteStore(path), DynamoDBStore(table)), got "
            f"{store!r}"
        )


def checked_yield_margin(yield_margin: float | timedelta | None) -> float | None:
    """Seconds (0 or more, finite) or None; a ConfigError naming `yield_margin` otherwise."""
    if yield_margin is None:
        return None
    if isinstance(yield_margin, int | float) and yield_margin < 0:
        raise ConfigError(f"yield_margin must be 0 or more seconds, got {yield_margin}")
    try:
        return checked_seconds(yield_margin, field="yield_margin")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
