"""The sender's side of `io.wait_for_event`: an event resolves the runs waiting on it.

    wait (run):   index item EVENTWAIT(name) -> task WAITING (kind "event") -> run WAITING
    send_event:   for each indexed wait on the name, begun no later than the event was sent
                  and whose filter matches: the wait's task COMPLETED with the event (one
                  conditional put_task: the first matching event wins), index item deleted,
                  `wake` the run

The task's output is the event as a JSON object (`event_output_json`): id, name, payload,
timestamp, context and run_ids. Waits resolved before issue 16 recorded the payload alone;
core/io/event_waits.py tells the two apart when it replays them.

The store is the truth (issue 10): any process that sends the event finds every waiting
run, wherever it was started. Timing out is the run's own business (core/io/event_waits.py).
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .filters import matches_filter
from .serialize import load_json
from .store.base import TaskRecord
from .times import utc
from .types import TaskStatus
from .wakes import wake

if TYPE_CHECKING:
    from .runtime import Runtime
    from .store.base import EventRecord, EventWaitRecord

logger = logging.getLogger(__name__)

EVENT_WAIT_KIND = "event"
"""The `kind` of an event wait's task record (the API and the dashboard show it)."""


def event_wait_name(name: str) -> str:
    """The task name an event wait is recorded under."""
    return f"wait for {name}"


EVENT_OUTPUT_KEYS = frozenset({"id", "name", "payload", "timestamp", "context", "run_ids"})
"""The keys of a resolved event wait's output (`event_output_json`)."""


def event_output_json(event: EventRecord) -> str:
    """The output a resolved wait records: the event as one JSON object.

    The payload and context are already JSON text: spliced in, not parsed and dumped again.
    """
    head = json.dumps({"id": event.id, "name": event.name,
                       "timestamp": utc(event.timestamp).isoformat(),
                       "run_ids": list(event.run_ids)}, separators=(",", ":"))  # fmt: skip
    context = event.context_json or "null"
    return f'{head[:-1]},"payload":{event.payload_json},"context":{context}}}'


async def resolve_event_waits(runtime: Runtime, event: EventRecord) -> list[str]:
    """Records the event as the outcome of every matching wait and wakes those runs.

    Only waits begun no later than `event.sent_at` count. Returns the ids of the runs whose
    wait this event resolved.
    """
    store = runtime.store
    sent_at = event.sent_at if event.sent_at is not None else runtime.clock.time()
    waits: list[EventWaitRecord] = await runtime.call(store.list_event_waits, event.name)
    if not waits:
        return []
    payload = load_json(event.payload_json)
    output_json: str | None = None
    resolved: list[str] = []
    for wait in waits:
        if wait.created_at > sent_at:  # the wait began after the event: it does not count
            continue
        if wait.expires_at is not None and wait.expires_at <= sent_at:
            continue  # timed out; the run records that itself when it wakes
        wait_filter = None if wait.filter_json is None else load_json(wait.filter_json)
        if not matches_filter(wait_filter, payload):
            continue
        output_json = output_json or event_output_json(event)
        if await _resolve(runtime, wait, output_json, event_id=event.id):
            resolved.append(wait.run_id)
    return resolved


async def _resolve(
    runtime: Runtime, wait: EventWaitRecord, output_json: str, *, event_id: str
) -> bool:
    store, now = runtime.store, runtime.clock.time()
    current: TaskRecord | None = await runtime.call(store.get_task, wait.run_id, wait.task_id)
    if current is not None and current.status.is_final:
        await runtime.call(store.delete_event_wait, wait.name, wait.run_id, wait.task_id)
        return False
    properties: list[dict[str, Any]] = [{"label": "event id", "text": event_id}]
    if current is None:  # the run wrote the index item and has not yet recorded its task
        current = TaskRecord(
            run_id=wait.run_id, id=wait.task_id, key=wait.key, parent_id=wait.parent_id,
            status=TaskStatus.WAITING, attempts=1, kind=EVENT_WAIT_KIND,
            name=event_wait_name(wait.name), started_at=wait.created_at,
            resume_at=wait.expires_at,
        )  # fmt: skip
    done = replace(current, status=TaskStatus.COMPLETED, output_json=output_json, error=None,
                   completed_at=now, resume_at=None, properties=properties)  # fmt: skip
    if not await runtime.call(store.put_task, done):
        logger.info("event %s lost the race for wait %s of run %s", event_id, wait.key, wait.run_id)
        return False
    await runtime.call(store.delete_event_wait, wait.name, wait.run_id, wait.task_id)
    logger.info("event %s resolved wait %s of run %s", event_id, wait.key, wait.run_id)
    await wake(runtime, wait.run_id, now)
    return True
