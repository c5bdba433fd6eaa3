"""Starting a run of a job through its flow control: a batched job's event joins a batch
(core/batches.py), a debounced job's start joins a debounce (core/debounces.py); any other
start creates its run as before (core/starts.py). Events and `Client.invoke` come here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import ValidationError

from .batches import add_to_batch, batch_of
from .debounces import start_debounced
from .serialize import load_json
from .starts import create_run

if TYPE_CHECKING:
    from .jobs import Job
    from .runtime import Runtime


async def start_job_run(
    runtime: Runtime,
    job: Job,
    text: str,
    *,
    run_id: str,
    event_id: str | None = None,
    event_name: str | None = None,
    event_timestamp: float | None = None,
    priority: int = 0,
    event_context_json: str | None = None,
) -> str:
    """The id of the run this start makes or joins (`run_id` when no flow control applies)."""
    if (job.debounce is not None or batch_of(job) is not None) and _is_valid(job, text):
        if event_id is not None and event_name is not None and batch_of(job) is not None:
            return await add_to_batch(runtime, job, text, event_id=event_id,
                                      event_name=event_name, event_timestamp=event_timestamp or 0.0,
                                      priority=priority)  # fmt: skip
        if job.debounce is not None:
            return await start_debounced(runtime, job, text, event_id=event_id,
                                         event_name=event_name, event_timestamp=event_timestamp,
                                         priority=priority)  # fmt: skip
    record = await create_run(runtime, job, text, run_id=run_id, event_id=event_id,
                              event_name=event_name, event_timestamp=event_timestamp,
                              priority=priority, event_context_json=event_context_json)  # fmt: skip
    return record.id


def _is_valid(job: Job, text: str) -> bool:
    """A payload that fails the job's schema makes its own INVALID_PAYLOAD run, outside any
    batch or debounce."""
    if job.schema is None:
        return True
    try:
        job.schema.model_validate(load_json(text))
    except ValidationError:
        return False
    return True
