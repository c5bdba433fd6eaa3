"""Sending an event: record it once and start a run of every job it triggers.

`Client.send_event` and `io.send_event` both come here, with the client's runtime.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .models import Event
from .serialize import load_json
from .starts import create_run, derived_id, payload_json
from .store.base import EventRecord
from .triggers import EventTrigger

if TYPE_CHECKING:
    from .runtime import Runtime


async def send_event(
    runtime: Runtime,
    name: str,
    payload: Any = None,
    *,
    id: str | None = None,
    timestamp: datetime | None = None,
) -> Event:
    """Records an event and starts a run of every job it triggers; idempotent on `id`."""
    if not name:
        raise ConfigError("send_event name must be a non-empty string")
    store = runtime.store
    event_id = id or uuid.uuid4().hex
    existing = await runtime.call(store.get_event, event_id)
    if existing is not None:
        return event_from_record(existing)
    text = payload_json(payload)
    ts = (timestamp or datetime.fromtimestamp(runtime.clock.time(), tz=UTC)).timestamp()
    plain = load_json(text)
    run_ids: list[str] = []
    for job in runtime.jobs.values():
        trigger = job.trigger
        if job.enabled and isinstance(trigger, EventTrigger) and trigger.matches(name, plain):
            run_id = derived_id(event_id, job.id)
            await create_run(
                runtime, job, text, run_id=run_id, event_id=event_id, event_name=name,
                event_timestamp=ts,
            )  # fmt: skip
            run_ids.append(run_id)
    record = EventRecord(
        id=event_id, name=name, timestamp=ts, payload_json=text, run_ids=tuple(run_ids)
    )
    if not await runtime.call(store.create_event, record):
        stored = await runtime.call(store.get_event, event_id)
        if stored is not None:
            return event_from_record(stored)
    return event_from_record(record)


def event_from_record(record: EventRecord) -> Event:
    """The public `Event` of a stored event."""
    return Event(
        id=record.id,
        name=record.name,
        payload=load_json(record.payload_json),
        timestamp=datetime.fromtimestamp(record.timestamp, tz=UTC),
        run_ids=list(record.run_ids),
    )
