"""Triggers: what starts a run of a job (an event, an invocation, a schedule, a webhook)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator, Mapping
from dataclasses import field
from typing import Any

from pydantic import BaseModel

from .errors import ConfigError
from .flow import Batch
from .names import check_name
from .records import Record, record
from .times import checked_seconds

SignatureCheck = Callable[[bytes, Mapping[str, str], str], bool]


@record
class Trigger(Record):
    """Base of every trigger: its kind and an optional payload schema."""

    kind: str
    schema: type[BaseModel] | None = None

    def describe(self) -> dict[str, Any]:
        """A JSON summary for the API and the dashboard."""
        return {"kind": self.kind}


@record
class EventTrigger(Trigger):
    """Starts a run for every event of `name` whose payload matches `filter`."""

    name: str = ""
    filter: Mapping[str, Any] | None = None
    batch: Batch | None = None
    """One run per batch of events, its payload their payloads in a list (core/batches.py)."""

    def matches(self, name: str, payload: Any) -> bool:
        """True when an event of `name` with `payload` should start a run."""
        from .filters import matches_filter  # event triggers only: not on a worker's path

        return name == self.name and matches_filter(self.filter, payload)

    def describe(self) -> dict[str, Any]:
        summary: dict[str, Any] = {"kind": self.kind, "event": self.name}
        if self.batch is not None:
            summary["batch"] = {"max_size": self.batch.max_size,
                                "max_wait": self.batch.max_wait_seconds}  # fmt: skip
        return summary


@record
class InvokeTrigger(Trigger):
    """Runs start only through `Client.invoke`."""


@record
class CronTrigger(Trigger):
    """Starts a run at every slot of a cron expression, in `timezone` (an IANA name; UTC)."""

    expr: str = ""
    timezone: str | None = None

    def describe(self) -> dict[str, Any]:
        summary: dict[str, Any] = {"kind": self.kind, "cron": self.expr}
        if self.timezone is not None:
            summary["timezone"] = self.timezone
        return summary


@record
class IntervalTrigger(Trigger):
    """Starts a run every `seconds`."""

    seconds: float = 0.0

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "seconds": self.seconds}


WEBHOOK_FILTER_KEYS = frozenset({"body", "headers", "query"})
"""What a webhook filter looks at: the JSON body, the headers (names in lower case) and
the query parameters (a repeated one as a list)."""


@record
class WebhookTrigger(Trigger):
    """Starts a run for each verified request to ``/webhooks/{id}`` that matches `filter`."""

    id: str = ""
    secret: str = field(default="", repr=False)
    verify: SignatureCheck | None = None
    filter: Mapping[str, Any] | None = None

    def matches(self, request: Mapping[str, Any]) -> bool:
        """True when a delivery, ``{"body", "headers", "query"}``, passes the filter."""
        if self.filter is None:
            return True
        from .filters import matches_filter

        return matches_filter(self.filter, request)

    def is_authentic(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """Checks the HMAC-SHA256 signature of `body` (custom `verify` when given)."""
        if self.verify is not None:
            return self.verify(body, WebhookHeaders(headers), self.secret)
        return verify_hmac_sha256(body, headers, self.secret)

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "webhook": self.id}


class WebhookHeaders(Mapping[str, str]):
    """A delivery's headers as `verify(body, headers, secret)` gets them: looked up in any
    case (`headers["X-Cal-Signature-256"]`, as v2's Headers did), listed lower-case."""

    __slots__ = ("_values",)

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._values = {key.lower(): value for key, value in headers.items()}

    def __getitem__(self, key: str) -> str:
        return self._values[key.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"WebhookHeaders({self._values!r})"


def verify_hmac_sha256(body: bytes, headers: Mapping[str, str], secret: str) -> bool:
    """GitHub's ``X-Hub-Signature-256: sha256=<hex>`` or a plain hex ``X-Signature``."""
    lowered = {k.lower(): v for k, v in headers.items()}
    given = lowered.get("x-hub-signature-256") or lowered.get("x-signature") or ""
    given = given.removeprefix("sha256=")
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()
    given_bytes = given.strip().lower().encode("utf-8", "replace")
    return bool(given_bytes) and hmac.compare_digest(given_bytes, expected)


def event_trigger(
    name: str,
    *,
    schema: type[BaseModel] | None = None,
    filter: Mapping[str, Any] | None = None,
    batch: Batch | None = None,
) -> EventTrigger:
    """A trigger for events named `name` whose payload matches `filter` (see core.filters).

    `schema` validates their payloads; a bad filter raises ConfigError here, naming its path.
    With `batch=Batch(max_size=, max_wait=)` one run takes a batch of events: its payload is
    the list of their payloads, in arrival order.
    """
    if batch is not None and not isinstance(batch, Batch):
        raise ConfigError(f"event_trigger batch must be a Batch, got {type(batch).__name__}")
    check_name(name, field="event_trigger name")
    _check_schema(schema, "event_trigger")
    if filter is not None:
        from .filters import validate_filter

        validate_filter(filter)
    return EventTrigger(kind="event", schema=schema, name=name, filter=filter, batch=batch)


def invoke_trigger(schema: type[BaseModel] | None = None) -> InvokeTrigger:
    """A trigger for `Client.invoke` only; `schema` validates the payload."""
    _check_schema(schema, "invoke_trigger")
    return InvokeTrigger(kind="invoke", schema=schema)


def cron_trigger(expr: str, *, timezone: str | None = None) -> CronTrigger:
    """A schedule of five cron fields (minute hour day month weekday) or a macro (``@daily``).

    `timezone` is an IANA name (``"Europe/Berlin"``) the fields are read in; None means UTC.
    An invalid expression or unknown zone raises ConfigError here.
    """
    from .schedule import validate_cron

    if not isinstance(expr, str) or not expr.strip():
        raise ConfigError("cron_trigger expression must be a non-empty string")
    if timezone is not None and not isinstance(timezone, str):
        raise ConfigError(f"cron_trigger timezone must be an IANA name or None, got {timezone!r}")
    validate_cron(expr, timezone)
    return CronTrigger(kind="cron", expr=" ".join(expr.split()), timezone=timezone)


def interval_trigger(seconds: float) -> IntervalTrigger:
    """A schedule that fires every `seconds` (at least 60, the ticker's period)."""
    try:
        checked = checked_seconds(seconds, field="interval_trigger seconds", minimum=60)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return IntervalTrigger(kind="interval", seconds=checked)


def webhook_trigger(
    id: str,
    *,
    secret: str,
    verify: SignatureCheck | None = None,
    schema: type[BaseModel] | None = None,
    filter: Mapping[str, Any] | None = None,
) -> WebhookTrigger:
    """A trigger for signed requests to ``/webhooks/{id}``.

    `filter` is an event filter (core.filters) over ``{"body", "headers", "query"}``:
    a delivery starts a run of every enabled job on this id whose filter it matches.
    """
    if not id or not isinstance(id, str):
        raise ConfigError(f"webhook_trigger id must be a non-empty string, got {id!r}")
    if not secret or not isinstance(secret, str):
        raise ConfigError(f"webhook_trigger {id!r} needs a non-empty secret (a str)")
    if verify is not None and not callable(verify):
        raise ConfigError(f"webhook_trigger {id!r} verify must be callable, got {verify!r}")
    _check_schema(schema, "webhook_trigger")
    if filter is not None:
        from .filters import validate_filter

        validate_filter(filter)
        unknown = set(filter) - WEBHOOK_FILTER_KEYS
        if unknown:
            raise ConfigError(
                f"webhook_trigger {id!r} filter keys must be among {sorted(WEBHOOK_FILTER_KEYS)},"
                f" got {sorted(map(str, unknown))}"
            )
    return WebhookTrigger(
        kind="webhook", schema=schema, id=id, secret=secret, verify=verify, filter=filter
    )


def _check_schema(schema: object, where: str) -> None:
    """`schema` is None or a pydantic model class; anything else would fail every run later."""
    if schema is not None and not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        raise ConfigError(f"{where} schema must be a pydantic model class, got {schema!r}")
