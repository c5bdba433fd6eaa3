"""Runs seen from the event that started them, and a run's statuses alone: v2's
`client.cancelRunsForEvent` and `client.getRunStatuses` (issue 16).

    cancel_runs_for_event(event id)  every unfinished run the event started -> CANCELED;
                                     returns the ids it canceled (finished runs untouched)
    get_run_statuses(run id)         {"run": {id, status, output}, "statuses": [...]}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import runs
from .checks import check_run_id, is_storable_id
from .errors import EventNotFound
from .types import RunStatus

if TYPE_CHECKING:
    from .runtime import Runtime


async def cancel_runs_for_event(runtime: Runtime, event_id: str) -> list[str]:
    """Cancels every run the event started that has not finished; returns their ids.

    A delayed event not yet delivered has started no run (`cancel_event` stops it).
    Raises EventNotFound for an id no event has.
    """
    if not is_storable_id(event_id):
        raise EventNotFound(event_id)
    store = runtime.store
    event = await runtime.call(store.get_event, event_id)
    if event is None:
        raise EventNotFound(event_id)
    canceled: list[str] = []
    for run_id in event.run_ids:
        record = await runtime.call(store.get_run, run_id)
        if record is None or record.status.is_final:  # deleted by retention, or finished
            continue
        run = await runs.cancel_run(runtime, run_id)
        if run.status is RunStatus.CANCELED:
            canceled.append(run_id)
    return canceled


async def get_run_statuses(runtime: Runtime, run_id: str) -> dict[str, Any]:
    """The run's id, status and output with its statuses (`io.create_status`), as JSON data."""
    check_run_id(run_id)
    run = await runs.get_run(runtime, run_id)
    return {
        "run": {"id": run.id, "status": run.status.value, "output": run.output},
        "statuses": [status.model_dump(mode="json") for status in run.statuses],
    }
