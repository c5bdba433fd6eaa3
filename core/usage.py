"""What a run costs: requests counted per invocation, priced from a table of AWS prices.

    execute() ........ `metered()` puts a Meter in a ContextVar (asyncio.to_thread copies it,
                       so store calls offloaded to threads count too)
    DynamoDBStore .... botocore's after-call hook: one read per GetItem/Query page, one write
                       per PutItem/UpdateItem and per item of a BatchWriteItem
    other stores ..... call_store counts the primitives called (reads: get_/list_/load_)
    SQSDispatcher .... one queue message per SendMessage      S3 blobs: one per request
    the end write .... adds this invocation's counts to `usage` on the run item (no extra
                       write), with the end write itself and the dispatch right after it
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Meter", "Prices", "Usage", "cost_of", "count", "current_meter", "metered"]

COUNTED = ("store_reads", "store_writes", "queue_messages", "blob_requests")
READ_OPERATIONS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem"})
WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem"})
READ_PREFIXES = ("get_", "list_", "load_")
ENV_LAMBDA_MEMORY = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
"""Set by Lambda: the function's memory in MB (`Client.from_env` prices with it)."""
MAX_RETENTION_SECONDS = 100 * 365 * 86400.0
BILLING_GRANULARITY_SECONDS = 0.001
"""Lambda bills duration rounded up to the millisecond."""


class Usage(BaseModel):
    """What a run used, over all its invocations (`Run.usage`)."""

    model_config = ConfigDict(defer_build=True)  # the end write sums plain dicts (`totals`)

    invocations: int = 0
    billed_seconds: float = 0.0
    store_reads: int = 0
    store_writes: int = 0
    queue_messages: int = 0
    blob_requests: int = 0


class Prices(BaseModel):
    """USD prices for the cost estimate; defaults: us-east-1 on-demand, x86, late 2024.

    ``Client(prices=Prices(lambda_memory_mb=2048))``; `Client.from_env` reads the memory
    from AWS_LAMBDA_FUNCTION_MEMORY_SIZE.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)  # built when one is validated

    lambda_gb_second: float = Field(default=0.0000166667, ge=0)
    lambda_request: float = Field(default=0.0000002, ge=0)
    lambda_memory_mb: int = Field(default=1024, gt=0, le=10240)
    dynamodb_read_unit: float = Field(default=0.000000125, ge=0)
    dynamodb_write_unit: float = Field(default=0.000000625, ge=0)
    sqs_request: float = Field(default=0.0000004, ge=0)
    s3_request: float = Field(default=0.000005, ge=0)
    """S3 PUT price (GET is cheaper): blob requests are priced as PUTs, an upper bound."""

    def cost(self, usage: Usage) -> float:
        """The estimated USD cost of `usage`."""
        return cost_of(usage.model_dump(), self)


def cost_of(usage: Mapping[str, float], prices: Prices | None = None) -> float:
    """The estimated USD cost of `usage` (a `Usage` as a dict) at `prices` (None: defaults).

    Plain arithmetic, so an invocation's end write builds neither model.
    """
    price = _DEFAULT_PRICES if prices is None else prices.__dict__
    compute = usage["billed_seconds"] * price["lambda_memory_mb"] / 1024 * price["lambda_gb_second"]
    return float(
        compute
        + usage["invocations"] * price["lambda_request"]
        + usage["store_reads"] * price["dynamodb_read_unit"]
        + usage["store_writes"] * price["dynamodb_write_unit"]
        + usage["queue_messages"] * price["sqs_request"]
        + usage["blob_requests"] * price["s3_request"]
    )


_DEFAULT_PRICES = {name: info.default for name, info in Prices.model_fields.items()}


def lambda_prices(memory_mb: int) -> Prices:
    """The default prices for a function of `memory_mb` MB (1 to 10240), without building
    the model's validator (`Client.from_env` on Lambda, at a cold start)."""
    if isinstance(memory_mb, bool) or not isinstance(memory_mb, int) or not 0 < memory_mb <= 10240:
        raise ValueError(f"lambda_memory_mb must be a whole number from 1 to 10240, got {memory_mb!r}")
    return Prices.model_construct(lambda_memory_mb=memory_mb)


class Meter:
    """The requests one invocation sent so far.

    Counted on every store call, so kept cheap: `add` appends to a list (atomic under the
    GIL: store calls offloaded to threads may count at the same time) and `total` sums once,
    for the end write.
    """

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self._added: list[tuple[str, int]] = []

    @property
    def counts(self) -> dict[str, int]:
        """Each of COUNTED so far."""
        counts = dict.fromkeys(COUNTED, 0)
        for name, amount in self._added[:]:  # a copy: other threads may append meanwhile
            counts[name] += amount
        return counts

    def add(self, name: str, amount: int = 1) -> None:
        if name not in _COUNTED_SET:
            raise KeyError(name)
        self._added.append((name, amount))

    def total(self, previous: Mapping[str, Any] | None, **ahead: int) -> Usage:
        """`previous` usage plus this invocation (and `ahead`: requests about to be sent)."""
        return Usage.model_validate(self.totals(previous, **ahead))

    def totals(self, previous: Mapping[str, Any] | None, **ahead: int) -> dict[str, Any]:
        """`total` as a plain dict, in `Usage`'s field order (the end write: no model built).

        A stored count that is not a whole number (or time not a number) raises ValueError.
        """
        before = _NOTHING if not previous else {
            name: _stored_number(previous.get(name, zero), name, float if name == "billed_seconds" else int)
            for name, zero in _NOTHING.items()
        }  # fmt: skip
        elapsed = time.perf_counter() - self.started
        billed = math.ceil(elapsed / BILLING_GRANULARITY_SECONDS) * BILLING_GRANULARITY_SECONDS
        counts = self.counts
        return {
            "invocations": before["invocations"] + 1,
            "billed_seconds": round(before["billed_seconds"] + billed, 3),
            **{name: before[name] + counts[name] + ahead.get(name, 0) for name in COUNTED},
        }


_COUNTED_SET = frozenset(COUNTED)
_NOTHING: dict[str, Any] = {
    "invocations": 0, "billed_seconds": 0.0, **dict.fromkeys(COUNTED, 0)
}  # fmt: skip


def _stored_number(value: Any, name: str, kind: type[int | float]) -> int | float:
    """A stored usage number as `kind` (DynamoDB returns Decimal); anything else raises."""
    if isinstance(value, bool | str) or value is None:
        raise ValueError(f"stored usage {name} must be a number, got {value!r}")
    number = kind(value)
    if kind is int and number != value:
        raise ValueError(f"stored usage {name} must be a whole number, got {value!r}")
    return number


_meter: ContextVar[Meter | None] = ContextVar("triggerfish_meter", default=None)


@contextmanager
def metered() -> Iterator[Meter]:
    """Counts what the code inside sends (one invocation)."""
    meter = Meter()
    token = _meter.set(meter)
    try:
        yield meter
    finally:
        _meter.reset(token)


def current_meter() -> Meter | None:
    """The meter of the invocation running in this context, if any."""
    return _meter.get()


def count(name: str, amount: int = 1) -> None:
    """Counts `amount` of `name` (one of COUNTED) on the current invocation, if metered."""
    meter = _meter.get()
    if meter is not None:
        meter.add(name, amount)


def count_store_call(name: str) -> None:
    """A store primitive called (stores that do not count their own requests)."""
    meter = _meter.get()
    if meter is not None:
        counted = _STORE_CALLS.get(name)
        if counted is None:
            counted = _STORE_CALLS[name] = (
                "store_reads" if name.startswith(READ_PREFIXES) else "store_writes"
            )
        meter._added.append((counted, 1))


_STORE_CALLS: dict[str, str] = {}
"""Store primitive name -> what a call counts as (read or write), worked out once per name."""


def count_dynamodb_call(model: Any, parsed: Any, context: Any, **_: Any) -> None:
    """botocore `after-call.dynamodb`: what the request cost, as reads and write items."""
    operation = getattr(model, "name", "")
    if operation in READ_OPERATIONS:
        count("store_reads")
    elif operation in WRITE_OPERATIONS:
        count("store_writes")
    elif operation == "BatchWriteItem":
        sent = int(context.get("triggerfish_items", 1)) if isinstance(context, dict) else 1
        unprocessed = (parsed or {}).get("UnprocessedItems") or {}
        count("store_writes", max(0, sent - sum(len(v) for v in unprocessed.values())))


def note_batch_items(params: Any, context: Any, **_: Any) -> None:
    """botocore `before-parameter-build.dynamodb.BatchWriteItem`: remembers how many items it sends."""
    if isinstance(context, dict) and isinstance(params, dict):
        items = params.get("RequestItems") or {}
        context["triggerfish_items"] = sum(len(v) for v in items.values())


def usage_of(stored: Mapping[str, Any] | None) -> Usage:
    """The `Usage` kept on a run item (absent: nothing counted yet)."""
    return Usage.model_validate(_known(stored))


def _known(stored: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (stored or {}).items() if k in Usage.model_fields}


def retention_seconds(retention: Any, name: str) -> float | None:
    """A retention (timedelta, or None: keep forever) as seconds; anything else is an error."""
    from datetime import timedelta

    from .errors import ConfigError

    if retention is None:
        return None
    if not isinstance(retention, timedelta):
        raise ConfigError(f"{name} must be a timedelta or None, got {retention!r}")
    seconds = retention.total_seconds()
    if not 0 < seconds <= MAX_RETENTION_SECONDS:
        raise ConfigError(f"{name} must be more than 0 and at most 100 years, got {retention}")
    return seconds
