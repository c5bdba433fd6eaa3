"""Debounce: a burst of events (or invocations) for one key makes one run, with the latest
payload, started `period` after the last of them (at most `max_wait` after the first).

One flow document per job and key (core/flow_state.py) holds the open debounce:

    sender:  no open debounce -> open one (seq + 1) and create its run, QUEUED until
                                 last + period (reason "debounce"); the run id is derived
                                 from the seq, so a crashed sender's retry makes no second
             open debounce    -> keep this payload as the latest, last = now (one write)
    the run, when due:        -> later events moved its time: QUEUED again until then
                                 else take the latest payload and close the debounce
                                 (the next event opens a new one)

The run is woken once per period at most, not once per event; an event that races the
close either lands before it (its payload is taken) or opens the next debounce.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .flow import FlowKeyError, flow_name, key_value
from .flow_state import Gated, lost_race, read_flow, write_flow
from .serialize import load_json
from .starts import create_run, derived_id
from .types import RunStatus

if TYPE_CHECKING:
    from .flow import Debounce
    from .jobs import Job
    from .outcome import Outcome
    from .runtime import Runtime

OVERDUE_SECONDS = 60.0
"""An open debounce this long past its time has lost its run (a sender crashed between
opening it and creating the run): the next sender creates the run, due now."""


def due_at(debounce: Debounce, data: dict[str, Any]) -> float:
    """When an open debounce's run starts: `period` after the last event, at most `max_wait`
    after the first."""
    due = float(data["last_at"]) + debounce.period_seconds
    max_wait = debounce.max_wait_seconds
    return due if max_wait is None else min(due, float(data["first_at"]) + max_wait)


async def start_debounced(
    runtime: Runtime,
    job: Job,
    text: str,
    *,
    event_id: str | None = None,
    event_name: str | None = None,
    event_timestamp: float | None = None,
    priority: int = 0,
) -> str:
    """Adds this payload to the key's open debounce (or opens one); returns its run's id."""
    debounce = job.debounce
    if debounce is None:
        raise ValueError(f"job {job.id!r} has no debounce")
    try:
        key = key_value(debounce.key, job.parse_payload(load_json(text)), field=f"job {job.id!r} Debounce key")
    except FlowKeyError as exc:
        raise ConfigError(str(exc)) from None
    name = flow_name("debounce", job.id, key)
    latest = {"payload": text, "event_id": event_id, "event_name": event_name,
              "event_timestamp": event_timestamp, "priority": priority}  # fmt: skip
    attempt = 0
    while True:
        read = await read_flow(runtime, name)
        now = runtime.clock.time()
        data = {} if read is None else dict(read.data)
        is_open = bool(data.get("open"))
        if is_open:
            data.update(latest, last_at=now)
        else:
            seq = int(data.get("seq", 0)) + 1
            run_id = derived_id(f"debounce\x00{name}\x00{seq}", job.id)
            data = {"seq": seq, "open": True, "run_id": run_id, "first_at": now, "last_at": now,
                    **latest}  # fmt: skip
        if await write_flow(runtime, name, data, read=read):
            break
        await lost_race(name, attempt)
        attempt += 1
    run_id = str(data["run_id"])
    due = due_at(debounce, data)
    if not is_open or now > due + OVERDUE_SECONDS:
        await create_run(
            runtime, job, text, run_id=run_id, event_id=event_id, event_name=event_name,
            event_timestamp=event_timestamp, priority=priority,
            queued_until=due if not is_open else now, queued_reason="debounce", flow_ref=name,
        )  # fmt: skip
    return run_id


async def take_latest(gated: Gated, job: Job) -> Outcome | None:
    """At the run's start: QUEUED again if later events moved its time, else the latest
    payload becomes the run's and the debounce closes. None: go on with the run."""
    debounce, name, runtime = job.debounce, gated.run.flow_ref, gated.runtime
    if debounce is None or name is None:
        return None
    attempt = 0
    while True:
        read = await read_flow(runtime, name)
        data = {} if read is None else read.data
        if data.get("run_id") != gated.run.id or not data.get("open"):
            return None  # taken by an earlier invocation of this run
        due = due_at(debounce, data)
        if due > gated.clock.time():
            return await gated.finish(RunStatus.QUEUED, resume_at=due, queued_reason="debounce")
        await gated.set_run({
            "payload_json": data["payload"], "event_id": data.get("event_id"),
            "event_name": data.get("event_name"), "event_timestamp": data.get("event_timestamp"),
            "priority": int(data.get("priority") or 0),
        })  # fmt: skip
        closed = {**data, "open": False, "payload": None}
        if await write_flow(runtime, name, closed, read=read):
            return None
        await lost_race(name, attempt)
        attempt += 1
