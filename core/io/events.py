"""Events from inside a run: `io.send_event`, `io.send_events`, `io.get_event` and
`io.cancel_event`, each a task, so a replay returns what the first call recorded and
sends, reads or cancels nothing again (Trigger.dev v2's io.sendEvent and friends).

Each returns the event as JSON data, the `Event` fields (id, name, payload, timestamp,
run_ids, status, deliver_at, context); `io.get_event` adds `runs`, the status of each run
the event started, read when the task ran. Event ids default to ``<run id>:<key>`` (and
``<run id>:<key>:<index>`` for `send_events`): a task attempt cut short and run again
sends the same ids, which the store keeps once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .. import events
from ..errors import ConfigError, EventNotFound
from ..times import to_datetime
from .tasks import run_task

if TYPE_CHECKING:
    from ..port import Port

EVENT_FIELDS = frozenset({"name", "payload", "id", "context"})
"""The keys an item of `io.send_events` may have (name is required)."""


async def send_event(
    inv: Port,
    key: str,
    name: str,
    payload: Any,
    *,
    id: str | None,
    deliver_at: datetime | None,
    deliver_after: float | timedelta | None,
    context: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Sends the event (id ``<run id>:<key>`` unless given) inside a task named after it."""
    event_id = id or f"{inv.run.id}:{key}"
    events.check_send_options(inv.runtime, name, id=event_id, deliver_at=deliver_at,
                              deliver_after=deliver_after, context=context)  # fmt: skip

    async def send() -> dict[str, Any]:
        event = await events.send_event(
            inv.runtime, name, payload, id=event_id, deliver_at=deliver_at,
            deliver_after=deliver_after, context=context,
        )  # fmt: skip
        return event.model_dump(mode="json")

    properties = [{"label": "name", "text": name}, {"label": "id", "text": event_id}]
    return await _task(inv, key, send, name=f"send {name}", properties=properties)


async def send_events(
    inv: Port,
    key: str,
    items: Sequence[Mapping[str, Any]],
    *,
    deliver_at: datetime | None,
    deliver_after: float | timedelta | None,
) -> list[dict[str, Any]]:
    """Sends each event in order inside one task; returns them in the same order."""
    checked = _checked_items(key, items)
    for index, item in enumerate(checked):
        try:
            events.check_send_options(
                inv.runtime, item["name"], id=item.get("id"), deliver_at=deliver_at,
                deliver_after=deliver_after, context=item.get("context"),
            )  # fmt: skip
        except ConfigError as exc:
            raise ConfigError(f"io.send_events {key!r}: events[{index}]: {exc}") from None

    async def send() -> list[dict[str, Any]]:
        sent = []
        for index, item in enumerate(checked):
            event = await events.send_event(
                inv.runtime, item["name"], item.get("payload"),
                id=item.get("id") or f"{inv.run.id}:{key}:{index}", deliver_at=deliver_at,
                deliver_after=deliver_after, context=item.get("context"),
            )  # fmt: skip
            sent.append(event.model_dump(mode="json"))
        return sent

    properties = [{"label": "events", "text": str(len(checked))}]
    result: list[dict[str, Any]] = await run_task(
        inv, key, send, name=f"send {len(checked)} events", retry=None, icon="event",
        properties=properties,
    )  # fmt: skip
    return result


def _checked_items(key: str, items: object) -> list[Mapping[str, Any]]:
    """The events of `io.send_events`, each a mapping with a str name; ConfigError otherwise."""
    where = f"io.send_events {key!r}"
    if isinstance(items, str | bytes | Mapping) or not isinstance(items, Sequence):
        raise ConfigError(f"{where}: events must be a list of dicts, got {type(items).__name__}")
    checked: list[Mapping[str, Any]] = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise ConfigError(f"{where}: events[{index}] must be a dict with name and payload, "
                              f"got {type(item).__name__}")  # fmt: skip
        unknown = set(item) - EVENT_FIELDS
        if unknown:
            raise ConfigError(f"{where}: events[{index}] has unknown keys {sorted(unknown)}; "
                              f"allowed: {sorted(EVENT_FIELDS)}")  # fmt: skip
        if not isinstance(item.get("name"), str) or not item["name"]:
            raise ConfigError(f"{where}: events[{index}] needs a name (a non-empty str), "
                              f"got {item.get('name')!r}")  # fmt: skip
        checked.append(item)
    return checked


async def get_event(inv: Port, key: str, event_id: str) -> dict[str, Any]:
    """The event as stored when the task ran, with `runs`: each started run's id and status."""
    _check_id(key, event_id, "io.get_event")

    async def read() -> dict[str, Any]:
        store = inv.runtime.store
        record = await inv.call(store.get_event, event_id)
        if record is None:
            raise EventNotFound(event_id)
        event = events.event_from_record(record).model_dump(mode="json")
        runs = []
        for run_id in record.run_ids:
            run = await inv.call(store.get_run, run_id)
            if run is None:  # deleted by retention
                continue
            runs.append({
                "id": run.id, "status": run.status.value,
                "started_at": _iso(run.started_at), "completed_at": _iso(run.completed_at),
            })  # fmt: skip
        event["runs"] = runs
        return event

    return await _task(inv, key, read, name="get event", properties=[{"label": "id", "text": event_id}])


async def cancel_event(inv: Port, key: str, event_id: str) -> dict[str, Any]:
    """Cancels a delayed event not yet delivered; returns the event after the attempt
    (status ``canceled`` when this call or an earlier one canceled it)."""
    _check_id(key, event_id, "io.cancel_event")

    async def cancel() -> dict[str, Any]:
        await events.cancel_event(inv.runtime, event_id)
        record = await inv.call(inv.runtime.store.get_event, event_id)
        if record is None:
            raise EventNotFound(event_id)
        return events.event_from_record(record).model_dump(mode="json")

    properties = [{"label": "id", "text": event_id}]
    return await _task(inv, key, cancel, name="cancel event", properties=properties)


def _check_id(key: str, event_id: object, where: str) -> None:
    if not isinstance(event_id, str) or not event_id:
        raise ConfigError(f"{where} {key!r}: id must be a non-empty str, got {event_id!r}")


def _iso(ts: float | None) -> str | None:
    moment = to_datetime(ts)
    return None if moment is None else moment.isoformat()


async def _task(
    inv: Port, key: str, fn: Any, *, name: str, properties: list[dict[str, Any]]
) -> dict[str, Any]:
    result: dict[str, Any] = await run_task(
        inv, key, fn, name=name, retry=None, icon="event", properties=properties
    )
    return result
