"""Batching: `event_trigger(..., batch=Batch(max_size=, max_wait=))` makes one run per batch
of events; its payload is the list of their payloads, in arrival order.

Two kinds of flow documents per job (core/flow_state.py), each changed by compare-and-set:

    batch:<job>          {"seq": n}: the batch that takes new events
    batch:<job>#<n>      batch n: its run id, its events [[event id, payload JSON], ...],
                         first_at, closed (full, or too big for one more), taken

    sender:  batch n absent      -> create it with this event, then its run: QUEUED until
                                    first_at + max_wait (reason "batch"), id derived from n
             open, with room     -> append (one write; an event id already there is not
                                    added twice); the one that fills it closes it and wakes
                                    the run now
             closed or no room   -> close it (if not yet), move the head to n + 1, again
    the run, when due or woken:  -> its batch's payloads become its payload; the batch is
                                    closed and taken (an event racing it lands in the next)

Every event is in exactly one batch: each append is one conditional write on the version
read, so racing senders (threads, processes, separate clients) retry instead of
overwriting each other (tests/core/test_batches.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .flow import flow_name
from .flow_state import Gated, lost_race, read_flow, write_flow
from .starts import MAX_PAYLOAD_BYTES, create_run, derived_id
from .triggers import EventTrigger
from .types import RunStatus

if TYPE_CHECKING:
    from .flow import Batch
    from .jobs import Job
    from .outcome import Outcome
    from .runtime import Runtime

OVERDUE_SECONDS = 60.0
"""A batch this long past its max_wait has lost its run's timer (a sender crashed between
creating the batch and its run): the next sender creates the run, due now."""


def batch_of(job: Job) -> Batch | None:
    """The job's Batch option (on its event trigger), or None."""
    trigger = job.trigger
    return trigger.batch if isinstance(trigger, EventTrigger) else None


async def add_to_batch(
    runtime: Runtime,
    job: Job,
    text: str,
    *,
    event_id: str,
    event_name: str,
    event_timestamp: float,
    priority: int = 0,
) -> str:
    """Adds the event to the job's open batch (or opens one); returns the batch run's id."""
    batch = batch_of(job)
    if batch is None:
        raise ValueError(f"job {job.id!r} has no batch")
    head_name = flow_name("batch", job.id)
    size = len(text.encode()) + 1
    attempt = 0
    while True:
        head = await read_flow(runtime, head_name)
        seq = 1 if head is None else int(head.data["seq"])
        name = f"{head_name}#{seq}"
        read = await read_flow(runtime, name)
        now = runtime.clock.time()
        data: dict[str, Any]
        if read is None:
            run_id = derived_id(f"batch\x00{name}", job.id)
            full = batch.max_size == 1
            data = {"run_id": run_id, "items": [[event_id, text]], "bytes": 2 + size,
                    "first_at": now, "closed": full, "taken": False}  # fmt: skip
            if await write_flow(runtime, name, data, read=None):
                due = now if full else now + batch.max_wait_seconds
                await _create_batch_run(runtime, job, name, data, due, priority)
                if full:
                    await _move_head(runtime, head_name, head, seq)
                return run_id
        else:
            data = dict(read.data)
            run_id = str(data["run_id"])
            if any(known == event_id for known, _ in data["items"]):
                return run_id  # the same event sent again (a retried send): counted once
            has_room = (not data["closed"] and len(data["items"]) < batch.max_size
                        and int(data["bytes"]) + size <= MAX_PAYLOAD_BYTES)  # fmt: skip
            if has_room:
                items = [*data["items"], [event_id, text]]
                full = len(items) >= batch.max_size
                changed = {**data, "items": items, "bytes": int(data["bytes"]) + size,
                           "closed": full}  # fmt: skip
                if await write_flow(runtime, name, changed, read=read):
                    overdue = now > float(data["first_at"]) + batch.max_wait_seconds + OVERDUE_SECONDS
                    if full or overdue:
                        await _start_now(runtime, job, name, changed, priority)
                    if full:
                        await _move_head(runtime, head_name, head, seq)
                    return run_id
            elif not data["closed"]:
                closed = {**data, "closed": True}
                if await write_flow(runtime, name, closed, read=read):
                    await _start_now(runtime, job, name, closed, priority)
                    await _move_head(runtime, head_name, head, seq)
                    continue
            else:
                await _move_head(runtime, head_name, head, seq)
                continue
        await lost_race(name, attempt)
        attempt += 1


async def _create_batch_run(
    runtime: Runtime, job: Job, name: str, data: dict[str, Any], due: float, priority: int
) -> None:
    first_id, first = data["items"][0]
    await create_run(
        runtime, job, "[" + first + "]", run_id=str(data["run_id"]), event_id=first_id,
        event_name=getattr(job.trigger, "name", None), queued_until=due,
        queued_reason="batch", flow_ref=name, priority=priority,
    )  # fmt: skip


async def _start_now(
    runtime: Runtime, job: Job, name: str, data: dict[str, Any], priority: int
) -> None:
    """A closed (or overdue) batch's run made due now; created first if its sender crashed."""
    now = runtime.clock.time()
    await _create_batch_run(runtime, job, name, data, now, priority)
    run_id = str(data["run_id"])
    if await runtime.call(runtime.store.wake_queued_run, run_id, at=now):
        await runtime.dispatch(run_id, now)


async def _move_head(runtime: Runtime, head_name: str, head: Any, seq: int) -> None:
    """New events go to batch seq + 1 (unless another sender moved the head already)."""
    await write_flow(runtime, head_name, {"seq": seq + 1}, read=head)


async def take_batch(gated: Gated, job: Job) -> Outcome | None:
    """At the run's start: QUEUED again if its batch is open and not yet due, else the
    batch's payloads become the run's payload and the batch is closed and taken."""
    batch, name, runtime = batch_of(job), gated.run.flow_ref, gated.runtime
    if batch is None or name is None:
        return None
    attempt = 0
    while True:
        read = await read_flow(runtime, name)
        data = {} if read is None else read.data
        if data.get("run_id") != gated.run.id or data.get("taken"):
            return None  # taken by an earlier invocation of this run
        due = float(data["first_at"]) + batch.max_wait_seconds
        if not data["closed"] and due > gated.clock.time():
            return await gated.finish(RunStatus.QUEUED, resume_at=due, queued_reason="batch")
        payload = "[" + ",".join(text for _, text in data["items"]) + "]"
        await gated.set_run({"payload_json": payload})
        if await write_flow(runtime, name, {**data, "closed": True, "taken": True}, read=read):
            return None
        await lost_race(name, attempt)
        attempt += 1
