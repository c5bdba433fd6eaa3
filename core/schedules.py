"""Schedules made at run time (issue 19.9): `client.create_schedule`, `list_schedules`,
`pause_schedule`, `resume_schedule`, `delete_schedule`, and their firing at each tick.

    stored     one record per schedule (store/fleet.py), every write conditional on the
               version read (a lost race is retried from a fresh read)
    firing     each tick (core/sweeper.py) reads every stored schedule; a slot fires at most
               once (the same conditional slot claim as declared triggers, keyed
               "schedule:<id>"), never before the schedule was made, and not while paused
    the run    of the schedule's job, id derived from schedule and slot (a second tick
               makes no second run); payload: the schedule's `payload` (a JSON object)
               with "ts" (the slot), "last_timestamp" (the slot before it since the
               schedule was made, or null) and "schedule_id" added, as ISO 8601 in UTC
    listing    `list_schedules` gives declared triggers too (`declared`, id = the job's)
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, JobNotFound, ScheduleNotFound
from .serialize import load_json
from .starts import create_run, derived_id, payload_json
from .store.fleet import ScheduleRecord
from .times import checked_seconds, utc
from .triggers import CronTrigger, IntervalTrigger

if TYPE_CHECKING:
    from .models import Schedule
    from .runtime import Runtime

logger = logging.getLogger(__name__)

SCHEDULE_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")
"""Schedule ids a caller may choose (as run ids): safe in URLs and store keys."""
RESERVED_PAYLOAD_KEYS = ("ts", "last_timestamp", "schedule_id")
"""Keys every fired run's payload gets; a schedule's own payload may not use them."""
MIN_INTERVAL_SECONDS = 60.0
"""The shortest interval: the ticker's period (as `interval_trigger`)."""
MAX_WRITE_TRIES = 5
"""A conditional write lost to a concurrent one is tried again from a fresh read this often."""


def _check_id(schedule_id: Any) -> str:
    if not isinstance(schedule_id, str) or not SCHEDULE_ID_PATTERN.fullmatch(schedule_id):
        raise ConfigError(
            f"schedule id must be 1 to 128 letters, digits or . _ : - characters, got "
            f"{schedule_id!r}"
        )
    return schedule_id


def _spec(
    cron: Any, interval: Any, timezone: Any
) -> tuple[str | None, float | None, str | None]:
    """The validated (cron, interval seconds, timezone): exactly one of cron and interval."""
    if (cron is None) == (interval is None):
        raise ConfigError("create_schedule needs exactly one of cron= and interval=")
    if cron is not None:
        if not isinstance(cron, str):
            raise ConfigError(f"cron must be a cron expression (str), got {cron!r}")
        if timezone is not None and not isinstance(timezone, str):
            raise ConfigError(f"timezone must be an IANA time zone name (str), got {timezone!r}")
        from .schedule import validate_cron

        validate_cron(cron, timezone)
        return cron, None, timezone
    if timezone is not None:
        raise ConfigError("timezone applies to cron schedules only (an interval counts from the epoch)")
    try:
        seconds = checked_seconds(interval, field="interval", minimum=MIN_INTERVAL_SECONDS)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return None, seconds, None


def _payload_text(payload: Any) -> str:
    if payload is None:
        return "null"
    if not isinstance(payload, dict):
        raise ConfigError(f"payload must be a JSON object (dict) or None, got {type(payload).__name__}")
    taken = [key for key in RESERVED_PAYLOAD_KEYS if key in payload]
    if taken:
        raise ConfigError(f"payload may not use the keys every scheduled run gets "
                          f"({', '.join(RESERVED_PAYLOAD_KEYS)}): {', '.join(taken)}")  # fmt: skip
    return payload_json(payload)


def _next_at(record: ScheduleRecord, now: float) -> datetime | None:
    if record.paused:
        return None
    from .schedule import next_fire_times

    times = next_fire_times(_trigger(record), utc(max(now, record.created_at)), 1)
    return times[0] if times else None


def _trigger(record: ScheduleRecord) -> CronTrigger | IntervalTrigger:
    """The trigger a stored schedule fires like (built without re-validating)."""
    if record.cron is not None:
        return CronTrigger(kind="cron", expr=record.cron, timezone=record.timezone)
    return IntervalTrigger(kind="interval", seconds=record.interval_seconds or 0.0)


def to_schedule(record: ScheduleRecord, now: float) -> Schedule:
    """The `Schedule` a user reads back."""
    from .models import Schedule

    return Schedule(
        id=record.id, job_id=record.job_id, cron=record.cron, interval=record.interval_seconds,
        timezone=record.timezone, payload=load_json(record.payload_json), paused=record.paused,
        next_at=_next_at(record, now),
    )  # fmt: skip


def _declared(runtime: Runtime, job_id: str | None, now: float) -> list[Schedule]:
    from .models import Schedule
    from .schedule import next_fire_times

    found: list[Schedule] = []
    for job in runtime.jobs.values():
        trigger = job.trigger
        if (job_id is not None and job.id != job_id) or not isinstance(
            trigger, CronTrigger | IntervalTrigger
        ):
            continue
        times = next_fire_times(trigger, utc(now), 1) if job.enabled else []
        found.append(Schedule(
            id=job.id, job_id=job.id, declared=True, paused=not job.enabled,
            cron=trigger.expr if isinstance(trigger, CronTrigger) else None,
            interval=trigger.seconds if isinstance(trigger, IntervalTrigger) else None,
            timezone=trigger.timezone if isinstance(trigger, CronTrigger) else None,
            next_at=times[0] if times else None,
        ))  # fmt: skip
    return found


async def _stored(runtime: Runtime) -> list[ScheduleRecord]:
    list_schedules = getattr(runtime.store, "list_schedules", None)  # older stores: none
    if list_schedules is None:
        return []
    records: list[ScheduleRecord] = await runtime.call(list_schedules)
    return records


async def create_schedule(
    runtime: Runtime,
    job_id: str,
    *,
    cron: str | None,
    interval: float | timedelta | None,
    timezone: str | None,
    payload: Any,
    id: str | None,
) -> Schedule:
    """Stores a schedule of the job (see the module docstring); an existing id of the same
    job is updated (its paused state kept), of another job a ConfigError."""
    if not isinstance(job_id, str) or job_id not in runtime.jobs:
        raise JobNotFound(str(job_id))
    schedule_id = _check_id(id) if id is not None else f"sched_{uuid.uuid4().hex[:24]}"
    cron, seconds, timezone = _spec(cron, interval, timezone)
    text = _payload_text(payload)
    store, now = runtime.store, runtime.clock.time()
    for _ in range(MAX_WRITE_TRIES):
        existing: ScheduleRecord | None = await runtime.call(store.get_schedule, schedule_id)
        if existing is not None and existing.job_id != job_id:
            raise ConfigError(f"schedule id {schedule_id!r} already belongs to a schedule of "
                              f"job {existing.job_id!r}")  # fmt: skip
        record = ScheduleRecord(
            id=schedule_id, job_id=job_id, cron=cron, interval_seconds=seconds,
            timezone=timezone, payload_json=text, updated_at=now,
            created_at=existing.created_at if existing else now,
            paused=existing.paused if existing else False,
            version=existing.version + 1 if existing else 1,
        )  # fmt: skip
        expected = existing.version if existing else None
        if await runtime.call(store.put_schedule, record, expected_version=expected):
            return to_schedule(record, now)
    raise ConfigError(f"schedule {schedule_id!r} is being changed by others; try again")


async def list_schedules(runtime: Runtime, job_id: str | None) -> list[Schedule]:
    """Declared triggers, then stored schedules (by id), optionally of one job."""
    now = runtime.clock.time()
    stored = [to_schedule(r, now) for r in await _stored(runtime)
              if job_id is None or r.job_id == job_id]  # fmt: skip
    return _declared(runtime, job_id, now) + stored


async def set_paused(runtime: Runtime, schedule_id: str, *, paused: bool) -> Schedule:
    """Pauses or resumes a stored schedule; ScheduleNotFound for an unknown id, ConfigError
    for a declared one (pause its job, or define it with enabled=False)."""
    store, now = runtime.store, runtime.clock.time()
    for _ in range(MAX_WRITE_TRIES):
        record = await _get(runtime, schedule_id)
        if record.paused == paused:
            return to_schedule(record, now)
        changed = replace(record, paused=paused, version=record.version + 1, updated_at=now)
        if await runtime.call(store.put_schedule, changed, expected_version=record.version):
            return to_schedule(changed, now)
    raise ConfigError(f"schedule {schedule_id!r} is being changed by others; try again")


async def delete_schedule(runtime: Runtime, schedule_id: str) -> bool:
    """Deletes a stored schedule; False when there is none (a declared one: ConfigError)."""
    if _is_declared(runtime, schedule_id):
        raise _declared_error(schedule_id)
    if not isinstance(schedule_id, str) or not SCHEDULE_ID_PATTERN.fullmatch(schedule_id):
        return False
    deleted: bool = await runtime.call(runtime.store.delete_schedule, schedule_id)
    return deleted


async def get_schedule(runtime: Runtime, schedule_id: str) -> Schedule:
    """One stored schedule; ScheduleNotFound otherwise."""
    return to_schedule(await _get(runtime, schedule_id), runtime.clock.time())


async def _get(runtime: Runtime, schedule_id: str) -> ScheduleRecord:
    if isinstance(schedule_id, str) and SCHEDULE_ID_PATTERN.fullmatch(schedule_id):
        record: ScheduleRecord | None = await runtime.call(runtime.store.get_schedule, schedule_id)
        if record is not None:
            return record
    if _is_declared(runtime, schedule_id):
        raise _declared_error(schedule_id)
    raise ScheduleNotFound(str(schedule_id))


def _is_declared(runtime: Runtime, schedule_id: Any) -> bool:
    job = runtime.jobs.get(schedule_id) if isinstance(schedule_id, str) else None
    return job is not None and isinstance(job.trigger, CronTrigger | IntervalTrigger)


def _declared_error(schedule_id: str) -> ConfigError:
    return ConfigError(f"schedule {schedule_id!r} is declared in code (the job's trigger): "
                       "pause its job with pause_job, or define it with enabled=False")  # fmt: skip


# -- firing (core/sweeper.py's tick) --------------------------------------------------------


async def fire_stored_schedules(runtime: Runtime, now: float, catch_up_seconds: float) -> list[str]:
    """Starts a run for each stored schedule whose latest slot is due and not yet claimed."""
    started: list[str] = []
    for record in await _stored(runtime):
        job = runtime.jobs.get(record.job_id)
        if record.paused or job is None or not job.enabled:
            continue
        slot = _latest_slot(record, now, catch_up_seconds)
        if slot is None:
            continue
        ts = slot.isoformat()
        if not await runtime.call(runtime.store.claim_slot, f"schedule:{record.id}", ts,
                                  expires_at=now + 7 * 24 * 3600):  # fmt: skip
            continue
        previous = _previous_slot(record, slot)
        payload = {**(load_json(record.payload_json) or {}), "ts": ts,
                   "last_timestamp": previous.isoformat() if previous else None,
                   "schedule_id": record.id}  # fmt: skip
        run_id = derived_id(f"schedule:{record.id}:{ts}", job.id)
        await create_run(runtime, job, payload_json(payload), run_id=run_id,
                         event_name=f"schedule.{record.id}")  # fmt: skip
        started.append(run_id)
    return started


def _latest_slot(record: ScheduleRecord, now: float, catch_up_seconds: float) -> datetime | None:
    """The latest slot at or before `now`, not older than the catch-up window nor than the
    schedule itself."""
    from .schedule import latest_cron_slot, latest_interval_slot

    moment = utc(now)
    if record.cron is not None:
        slot = latest_cron_slot(record.cron, moment, timezone=record.timezone,
                                window=timedelta(seconds=catch_up_seconds + 60))  # fmt: skip
    else:
        slot = latest_interval_slot(record.interval_seconds or MIN_INTERVAL_SECONDS, moment)
    if slot is None or now - slot.timestamp() > catch_up_seconds:
        return None
    return slot if slot.timestamp() >= record.created_at else None


def _previous_slot(record: ScheduleRecord, slot: datetime) -> datetime | None:
    """The slot before `slot`, if the schedule existed then."""
    from .schedule import cron_time_before

    if record.cron is not None:
        before = cron_time_before(record.cron, slot, timezone=record.timezone)
    else:
        before = slot - timedelta(seconds=record.interval_seconds or MIN_INTERVAL_SECONDS)
    return before if before is not None and before.timestamp() >= record.created_at else None


def upcoming(schedule: Schedule, now: float, count: int) -> list[datetime]:
    """The next `count` fire times of a schedule (none while paused)."""
    from .schedule import next_fire_times

    if schedule.paused:
        return []
    trigger: CronTrigger | IntervalTrigger = (
        CronTrigger(kind="cron", expr=schedule.cron, timezone=schedule.timezone)
        if schedule.cron is not None
        else IntervalTrigger(kind="interval", seconds=schedule.interval or MIN_INTERVAL_SECONDS)
    )
    return next_fire_times(trigger, utc(now), count)
