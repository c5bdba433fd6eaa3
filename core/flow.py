"""Flow control options (DESIGN.md "Flow control and fleet operations"): what a job's runs
wait for before they start, each checked when it is made.

    ConcurrencyLimit  define_concurrency_limit(id=, limit=): slots several jobs share
    RateLimit         define_job(rate_limit=): at most `limit` starts per sliding `period`
    Debounce          define_job(debounce=): a burst of events makes one run (latest payload)
    Batch             event_trigger(batch=): one run per batch of events (payloads in a list)

Every `key` is a function of the payload (as the run receives it), like `concurrency_key`:
the option applies per key (per tenant). Its value is used as `str(value)`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .checks import is_count
from .durations import duration_seconds
from .errors import ConfigError
from .names import check_name

KeyFunction = Callable[[Any], Any]
"""`key(payload) -> value`: the flow control applies per distinct `str(value)`."""

MAX_RATE_LIMIT = 1000
"""The most starts a rate limit allows per period (its window is kept in one store item)."""
MAX_BATCH_SIZE = 1000
"""The most events one batch holds (their payloads must also fit in one run's payload)."""


def _checked_key(key: object, field: str) -> None:
    if key is not None and not callable(key):
        raise ConfigError(f"{field} must be a function of the payload or None, got {key!r}")


@dataclass(frozen=True)
class ConcurrencyLimit:
    """Concurrency slots shared by every job defined with `concurrency_limit=<this>`.

    Made by `client.define_concurrency_limit(id=, limit=)`; a job's `concurrency_key`
    splits it per key (each key gets `limit` slots across those jobs).
    """

    id: str
    limit: int

    def __post_init__(self) -> None:
        check_name(self.id, field="define_concurrency_limit id")
        if not is_count(self.limit, minimum=1):
            raise ConfigError(f"define_concurrency_limit limit must be an integer of at least 1,"
                              f" got {self.limit!r}")  # fmt: skip


@dataclass(frozen=True)
class RateLimit:
    """At most `limit` runs start in any sliding `period` (seconds or a timedelta), per key.

    Runs beyond it wait QUEUED (reason "rate"), each due at its turn: they start in the
    order they arrived, woken by the due index (no polling).
    """

    limit: int
    period: float | timedelta
    key: KeyFunction | None = None

    def __post_init__(self) -> None:
        if not is_count(self.limit, minimum=1, maximum=MAX_RATE_LIMIT):
            raise ConfigError(f"RateLimit limit must be an integer from 1 to {MAX_RATE_LIMIT}, "
                              f"got {self.limit!r}")  # fmt: skip
        object.__setattr__(self, "period", duration_seconds(self.period, field="RateLimit period"))
        _checked_key(self.key, "RateLimit key")

    @property
    def period_seconds(self) -> float:
        """`period` in seconds."""
        return float(self.period)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Debounce:
    """Events (or invocations) within `period` of the last one, per key, make one run with
    the latest payload; `max_wait` bounds how long the first one waits in all."""

    period: float | timedelta
    key: KeyFunction | None = None
    max_wait: float | timedelta | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "period", duration_seconds(self.period, field="Debounce period"))
        if self.max_wait is not None:
            seconds = duration_seconds(self.max_wait, field="Debounce max_wait")
            object.__setattr__(self, "max_wait", seconds)
        _checked_key(self.key, "Debounce key")

    @property
    def period_seconds(self) -> float:
        """`period` in seconds."""
        return float(self.period)  # type: ignore[arg-type]

    @property
    def max_wait_seconds(self) -> float | None:
        """`max_wait` in seconds (None: unbounded)."""
        return None if self.max_wait is None else float(self.max_wait)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Batch:
    """One run per batch of up to `max_size` events; its payload is their payloads in arrival
    order, and it starts at most `max_wait` after the batch's first event (or when full)."""

    max_size: int
    max_wait: float | timedelta

    def __post_init__(self) -> None:
        if not is_count(self.max_size, minimum=1, maximum=MAX_BATCH_SIZE):
            raise ConfigError(f"Batch max_size must be an integer from 1 to {MAX_BATCH_SIZE}, "
                              f"got {self.max_size!r}")  # fmt: skip
        object.__setattr__(self, "max_wait", duration_seconds(self.max_wait, field="Batch max_wait"))

    @property
    def max_wait_seconds(self) -> float:
        """`max_wait` in seconds."""
        return float(self.max_wait)  # type: ignore[arg-type]


class FlowKeyError(Exception):
    """A `key` (or `concurrency_key`) function raised: the run fails naming the option."""


def key_value(key: KeyFunction | None, payload: Any, *, field: str) -> str | None:
    """`str(key(payload))`, None without a key; FlowKeyError naming `field` if it raises."""
    if key is None:
        return None
    try:
        return str(key(payload))
    except Exception as exc:
        raise FlowKeyError(f"{field} raised {type(exc).__name__}: {exc}") from exc


def flow_name(kind: str, *parts: str | None) -> str:
    """A store-safe name for a queue or flow state: `kind:` and a hash of its parts (a job
    id and a user's key may hold any text; the hash keeps names short and unambiguous)."""
    text = "\x00".join("\x01" if part is None else part for part in (kind, *parts))
    return f"{kind}:{hashlib.sha256(text.encode()).hexdigest()[:32]}"
