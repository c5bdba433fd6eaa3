"""Sending an event: record it once, start a run of every job it triggers, and resolve the
runs waiting on it (`io.wait_for_event`, core/event_waits.py).

`Client.send_event` and `io.send_event` both come here, with the client's runtime.
A delayed event (`deliver_at=` / `deliver_after=`) is stored pending in the store's due
index and delivered by the sweeper's tick (`deliver_due_events`):

    pending --tick: claim--> delivering --runs started, waits resolved--> delivered
       \\--cancel_event--> canceled          (a crash while delivering: redelivered later)
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .durations import aware_timestamp, duration_seconds
from .errors import ConfigError, EventNotFound
from .event_waits import resolve_event_waits
from .flow_starts import start_job_run
from .names import check_name
from .serialize import dump_json, load_json
from .starts import check_priority, derived_id, payload_json
from .store.base import (
    EVENT_CANCELED,
    EVENT_DELIVERED,
    EVENT_DELIVERING,
    EVENT_PENDING,
    EventRecord,
)
from .times import utc
from .triggers import EventTrigger

if TYPE_CHECKING:
    from .models import Event
    from .runtime import Runtime

logger = logging.getLogger(__name__)

REDELIVER_SECONDS = 60.0
"""A delayed event whose delivery was cut short (a crash) is delivered again this much later."""
DELIVERY_BATCH = 100
"""The most delayed events one tick delivers."""
MAX_CONTEXT_BYTES = 32 * 1024
"""Largest event `context` (as JSON): it is kept in the event and in every run it starts."""


async def send_event(
    runtime: Runtime,
    name: str,
    payload: Any = None,
    *,
    id: str | None = None,
    timestamp: datetime | None = None,
    deliver_at: datetime | None = None,
    deliver_after: float | timedelta | None = None,
    priority: int = 0,
    context: Mapping[str, Any] | None = None,
) -> Event:
    """Records an event and starts a run of every job it triggers; idempotent on `id`.

    With `deliver_at` (an aware datetime) or `deliver_after` (seconds or a timedelta) the
    event is stored pending and delivered at that time by the sweeper. `priority` orders
    its runs in their queues (higher first, then older). `context` (a JSON object)
    travels with it: `ctx.event.context` of the runs it starts, `.context` of the
    event `io.wait_for_event` returns.
    """
    check_name(name, field="send_event name")
    priority = check_priority(priority, field="send_event priority")
    if id:  # "" is no id, as before
        check_name(id, field="send_event id")
    ts_given = None if timestamp is None else _timestamp_seconds(timestamp)
    due = _delivery_time(runtime, deliver_at, deliver_after)
    context_json = _context_json(context)
    store = runtime.store
    event_id = id or uuid.uuid4().hex
    # Only a given id can have been sent before: a new uuid4 needs no read (its create is
    # conditional all the same).
    existing = await runtime.call(store.get_event, event_id) if id else None
    if existing is not None:
        return event_from_record(existing)
    text = payload_json(payload)
    now = runtime.clock.time()
    ts = now if ts_given is None else ts_given
    if due is not None and due > now:
        pending = EventRecord(id=event_id, name=name, timestamp=ts, payload_json=text,
                              status=EVENT_PENDING, deliver_at=due, priority=priority,
                              context_json=context_json)  # fmt: skip
        if not await runtime.call(store.create_event, pending):
            stored = await runtime.call(store.get_event, event_id)
            return event_from_record(stored or pending)
        return event_from_record(pending)
    run_ids = await _start_runs(runtime, event_id, name, text, ts, priority, context_json)
    record = EventRecord(id=event_id, name=name, timestamp=ts, payload_json=text,
                         run_ids=tuple(run_ids), sent_at=now,
                         context_json=context_json)  # fmt: skip
    if not await runtime.call(store.create_event, record):
        stored = await runtime.call(store.get_event, event_id)
        if stored is not None:
            return event_from_record(stored)
    await resolve_event_waits(runtime, record)
    return event_from_record(record)


def check_send_options(
    runtime: Runtime,
    name: str,
    *,
    id: str | None,
    deliver_at: datetime | None,
    deliver_after: float | timedelta | None,
    context: Mapping[str, Any] | None,
) -> None:
    """The ConfigError `send_event` would raise for these options, raised before anything is
    recorded (`io.send_event` checks them before its task, so a bad call fails at once)."""
    check_name(name, field="send_event name")
    if id:
        check_name(id, field="send_event id")
    _delivery_time(runtime, deliver_at, deliver_after)
    _context_json(context)


def _context_json(context: object) -> str | None:
    """The event's `context` as JSON text: a JSON object of at most MAX_CONTEXT_BYTES."""
    if context is None:
        return None
    dump = getattr(context, "model_dump", None)  # v2 sends `context: ctx`: a pydantic model
    if callable(dump) and not isinstance(context, Mapping):
        context = dump(mode="json")
    if not isinstance(context, Mapping):
        raise ConfigError(
            "send_event context must be a dict (a JSON object), a pydantic model (such as "
            f"the run's ctx) or None, got {type(context).__name__}"
        )
    text = dump_json(dict(context), key="context")
    size = len(text.encode())
    if size > MAX_CONTEXT_BYTES:
        raise ConfigError(
            f"send_event context is {size} bytes as JSON; the limit is {MAX_CONTEXT_BYTES} bytes"
        )
    return text


def _timestamp_seconds(timestamp: object) -> float:
    """An event's `timestamp` as epoch seconds; a naive datetime is UTC, as in the HTTP API."""
    if not isinstance(timestamp, datetime):
        raise ConfigError(
            f"send_event timestamp must be a datetime, got {type(timestamp).__name__}"
        )
    if timestamp.tzinfo is None or timestamp.utcoffset() is None:
        timestamp = timestamp.replace(tzinfo=UTC)
    return timestamp.timestamp()


def _delivery_time(
    runtime: Runtime, deliver_at: datetime | None, deliver_after: float | timedelta | None
) -> float | None:
    if deliver_at is not None and deliver_after is not None:
        raise ConfigError("send_event takes deliver_at= or deliver_after=, not both")
    if deliver_after is not None:
        return runtime.clock.time() + duration_seconds(deliver_after, field="deliver_after")
    if deliver_at is None:
        return None
    return aware_timestamp(deliver_at, field="deliver_at")


async def _start_runs(
    runtime: Runtime, event_id: str, name: str, text: str, ts: float, priority: int = 0,
    context_json: str | None = None,
) -> list[str]:
    """One run per enabled job whose event trigger matches (ids derived: a retry makes none);
    a debounced or batched job's event joins its debounce or batch (core/flow_starts.py)."""
    plain = load_json(text)
    run_ids: list[str] = []
    for job in runtime.jobs.values():
        trigger = job.trigger
        if job.enabled and isinstance(trigger, EventTrigger) and trigger.matches(name, plain):
            run_ids.append(await start_job_run(
                runtime, job, text, run_id=derived_id(event_id, job.id), event_id=event_id,
                event_name=name, event_timestamp=ts, priority=priority,
                event_context_json=context_json,
            ))  # fmt: skip
    return run_ids


async def deliver_due_events(runtime: Runtime, now: float) -> list[str]:
    """Delivers the delayed events due at `now`; returns the ids of the runs they started."""
    due: list[str] = await runtime.call(runtime.store.list_due_events, now=now,
                                        limit=DELIVERY_BATCH)  # fmt: skip
    started: list[str] = []
    for event_id in due:
        started.extend(await _deliver(runtime, event_id, now))
    return started


async def _deliver(runtime: Runtime, event_id: str, now: float) -> list[str]:
    store = runtime.store
    event: EventRecord | None = await runtime.call(store.get_event, event_id)
    if event is None or not event.is_due_indexed:
        return []
    sent_at = event.sent_at if event.sent_at is not None else now
    claim = {"status": EVENT_DELIVERING, "deliver_at": now + REDELIVER_SECONDS, "sent_at": sent_at}
    if not await runtime.call(store.update_event, event_id, expected_status=event.status,
                              changes=claim):  # fmt: skip
        return []  # canceled, or another sweeper took it
    run_ids = await _start_runs(runtime, event_id, event.name, event.payload_json,
                                event.timestamp, event.priority, event.context_json)  # fmt: skip
    await resolve_event_waits(runtime, replace(event, run_ids=tuple(run_ids), sent_at=sent_at))
    done = {"status": EVENT_DELIVERED, "run_ids": run_ids}
    await runtime.call(store.update_event, event_id, expected_status=EVENT_DELIVERING,
                       changes=done)  # fmt: skip
    logger.info("delayed event %s delivered: %d runs", event_id, len(run_ids))
    return run_ids


async def cancel_event(runtime: Runtime, event_id: str) -> bool:
    """Cancels a delayed event not yet delivered; False when it was delivered or canceled.

    Raises EventNotFound for an id no event has.
    """
    store = runtime.store
    event = await runtime.call(store.get_event, event_id)
    if event is None:
        raise EventNotFound(event_id)
    if event.status != EVENT_PENDING:
        return False
    changed: bool = await runtime.call(store.update_event, event_id, expected_status=EVENT_PENDING,
                                       changes={"status": EVENT_CANCELED})  # fmt: skip
    return changed


def event_from_record(record: EventRecord) -> Event:
    """The public `Event` of a stored event."""
    from .models import Event  # the API models load on first use, off a worker's path

    return Event(
        id=record.id,
        name=record.name,
        payload=load_json(record.payload_json),
        timestamp=utc(record.timestamp),
        run_ids=list(record.run_ids),
        status=record.status,
        deliver_at=None if record.deliver_at is None else datetime.fromtimestamp(
            record.deliver_at, tz=UTC),
        context=load_json(record.context_json),
    )  # fmt: skip
