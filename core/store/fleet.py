"""What both stores keep for fleet operations (issue 19): paused jobs and stored schedules.

    set_job_paused   the job's pause flag absent (pausing) or present (resuming)
    put_schedule     schedule absent (expected_version None), or stored at expected_version
    delete_schedule  unconditional; answers whether it was there

A schedule is kept whole as JSON (`schedule_json`), beside the fields its conditions read.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from ..records import Record, record


@record
class ScheduleRecord(Record):
    """A schedule made at run time (`client.create_schedule`): cron or interval, per job."""

    id: str
    job_id: str
    created_at: float
    cron: str | None = None
    interval_seconds: float | None = None
    timezone: str | None = None
    payload_json: str = "null"
    paused: bool = False
    version: int = 1
    """Counts the record's writes: each `put_schedule` is conditional on the one it read."""
    updated_at: float | None = None


def schedule_json(schedule: ScheduleRecord) -> str:
    """The record as JSON text, as both stores keep it."""
    return json.dumps(asdict(schedule), separators=(",", ":"), allow_nan=False)


def load_schedule(text: str) -> ScheduleRecord:
    """Reverse of `schedule_json`; fields a later version added take their defaults."""
    values: dict[str, Any] = json.loads(text)
    return ScheduleRecord(**values)
