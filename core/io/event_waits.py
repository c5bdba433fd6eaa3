"""`io.wait_for_event`: the run waits in the store (WAITING, no invocation, no slot) until a
matching event is sent; the sender records the outcome (core/event_waits.py).

    first call:  index item (name, filter, began at) -> task WAITING kind "event" -> suspend
    event sent:  the sender records the task COMPLETED with the event and wakes the run
    timeout:     the run wakes at resume_at and records ERRORED WaitTimeout (if still WAITING)
    replay:      the event (payload parsed by `schema`) or the same WaitTimeout, no waiting

Returns an `Event` (id, name, payload, timestamp, context, run_ids), as v2's waitForEvent
does. Without `timeout` the wait lasts DEFAULT_EVENT_TIMEOUT_SECONDS (v2's hour);
`timeout=None` is refused: a wait with no end is a run that never finishes by mistake.

Runs recorded before the wait returned the event (issue 16) stored the payload alone as
the task's output; such a record replays as an `Event` built from what it kept: the payload,
the event id (the task's "event id" property), the waited name, the time the wait was
resolved as the timestamp, no context and no run ids.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from ..durations import duration_seconds
from ..errors import ConfigError, TaskFailed, WaitTimeout
from ..event_waits import EVENT_OUTPUT_KEYS, EVENT_WAIT_KIND, event_wait_name
from ..filters import validate_filter
from ..names import check_name
from ..outcome import Outcome
from ..serialize import dump_json, load_json
from ..store.base import EventWaitRecord, TaskRecord
from ..times import utc
from ..types import TaskStatus
from ..wakes import wake
from .records import wait_for_wake

if TYPE_CHECKING:
    from ..models import Event
    from ..port import Port

TIMEOUT_ERROR = "WaitTimeout"
"""The error type a timed-out wait is recorded with."""
DEFAULT_EVENT_TIMEOUT_SECONDS = 3600.0
"""How long `io.wait_for_event` waits when given no `timeout` (v2's default: one hour)."""


async def wait_for_event(
    inv: Port,
    key: str,
    name: str,
    *,
    filter: dict[str, Any] | None,
    schema: type[BaseModel] | None,
    timeout: float | timedelta,
) -> Event:
    """The first matching event sent after the wait began (see module doc)."""
    check_name(name, field="io.wait_for_event name")
    if filter is not None:
        validate_filter(filter)
    if schema is not None and not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        raise ConfigError(f"io.wait_for_event schema must be a pydantic model class, got {schema!r}")
    if timeout is None:
        raise ConfigError(
            f"io.wait_for_event {key!r}: timeout must be seconds or a timedelta (at most 365 "
            f"days), got None; leave it out for the default of "
            f"{DEFAULT_EVENT_TIMEOUT_SECONDS:g} seconds, or give a long one explicitly"
        )
    seconds = duration_seconds(timeout, field="timeout")
    claim = inv.claim(key)
    recorded = claim.recorded
    if recorded is None:
        now = inv.clock.time()
        resume_at: float | None = now + seconds
        await inv.record_parent_running()
        index = EventWaitRecord(
            name=name, run_id=claim.run_id, task_id=claim.task_id, key=key, created_at=now,
            parent_id=claim.parent_id, expires_at=resume_at,
            filter_json=None if filter is None else dump_json(filter, key=f"{key} filter"),
        )  # fmt: skip
        await inv.call(inv.store.put_event_wait, index)
    else:
        resume_at = recorded.resume_at
    if recorded is None or not recorded.status.is_final:
        recheck_at_end(inv, claim.task_id)
        inv.frees_slot_while_waiting = True

    def timed_out(record: TaskRecord, now: float) -> TaskRecord:
        error = {"type": TIMEOUT_ERROR, "message": f"no {name!r} event arrived within {seconds:g} seconds"}
        return replace(record, status=TaskStatus.ERRORED, error=error, completed_at=now)

    properties = [{"label": "event", "text": name}, {"label": "timeout", "text": f"{seconds:g} s"}]
    final = await wait_for_wake(
        inv, claim, kind=EVENT_WAIT_KIND, resume_at=resume_at, on_timeout=timed_out,
        name=event_wait_name(name), icon="event", properties=properties,
    )  # fmt: skip
    if final.status is TaskStatus.ERRORED and (final.error or {}).get("type") == TIMEOUT_ERROR:
        if recorded is not None and not recorded.status.is_final:  # timed out just now
            await inv.call(inv.store.delete_event_wait, name, claim.run_id, claim.task_id)
        raise WaitTimeout(key, f"wait {key!r}: {(final.error or {}).get('message')}")
    if final.status is not TaskStatus.COMPLETED:
        raise TaskFailed(key, final.error or {})
    event = received_event(final, name)
    if schema is None:
        return event
    try:
        parsed = schema.model_validate(event.payload)
    except ValidationError as exc:
        error = {"type": "ValidationError",
                 "message": f"the event payload of wait {key!r} does not fit "
                            f"{schema.__name__}: {exc}"}  # fmt: skip
        raise TaskFailed(key, error) from None
    return event.model_copy(update={"payload": parsed})


def received_event(record: TaskRecord, name: str) -> Event:
    """The event a COMPLETED event wait recorded (the older payload-only output included)."""
    from ..models import Event  # the API models load on first use

    output = load_json(record.output_json)
    recorded_id = next((p.get("text") for p in record.properties or ()
                        if p.get("label") == "event id"), None)  # fmt: skip
    if (
        isinstance(output, dict)
        and output.keys() == EVENT_OUTPUT_KEYS
        and output["id"] == recorded_id
    ):
        return Event.model_validate(output)
    # Recorded before waits returned the event: the output is the payload alone.
    return Event(
        id=str(recorded_id or ""), name=name, payload=output,
        timestamp=utc(record.completed_at or record.started_at or 0.0),
    )  # fmt: skip


def recheck_at_end(inv: Port, task_id: str) -> None:
    """An event that resolved a wait while this invocation was ending found the run leased;
    once the lease is released, look again and wake the run if one did."""
    waits: list[str] | None = inv.scratch.get(__name__)
    if waits is None:
        waits = inv.scratch[__name__] = []

        async def recheck(outcome: Outcome) -> Outcome:
            for waited in waits:
                current = await inv.call(inv.store.get_task, inv.run.id, waited)
                if current is not None and current.status.is_final:
                    now = inv.clock.time()
                    await wake(inv.runtime, inv.run.id, now)
                    return Outcome(status=outcome.status, resume_at=now)
            return outcome

        inv.after_wait(recheck)
    waits.append(task_id)
