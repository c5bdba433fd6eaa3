"""`client.tick`: the sweeper and the schedules, one pass over what is due.

    fire cron and interval slots -> deliver delayed events -> dispatch due runs
    -> purge expired runs (at most every PURGE_INTERVAL_SECONDS) -> wake queued runs

Stored schedules (client.create_schedule) fire in the same pass (core/schedules.py).
`client.next_fire_times` reads the declared triggers forward. The schedule math (cronsim) and
the events module are imported on first use, off a worker's cold start.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from .errors import ConfigError
from .serialize import load_json
from .slots import sweep_queues_if_due
from .starts import create_run, derived_id, payload_json
from .times import utc
from .triggers import CronTrigger, IntervalTrigger

if TYPE_CHECKING:
    from .runtime import Runtime

logger = logging.getLogger(__name__)

SCHEDULE_CATCH_UP_SECONDS = 300.0
"""A scheduled slot older than this at a tick is skipped, not fired late."""
SWEEP_BATCH = 100
PURGE_INTERVAL_SECONDS = 60.0
"""The sweeper deletes expired runs at most this often (each purge reads every shard)."""
PREVIOUS_RUN_SCAN = 20
"""How many of a job's newest runs a tick reads to find the previous scheduled run's `ts`."""

_last_purge: WeakKeyDictionary[Runtime, float] = WeakKeyDictionary()
"""When each client's runtime last purged (none yet: the next tick purges)."""


async def tick(runtime: Runtime, now: float) -> list[str]:
    """Re-dispatches due runs and fires cron and interval slots; returns the ids of the runs
    it dispatched or started."""
    started = await _fire_schedules(runtime, now)
    if getattr(runtime.store, "list_schedules", None) is not None:
        from .schedules import fire_stored_schedules

        started += await fire_stored_schedules(runtime, now, SCHEDULE_CATCH_UP_SECONDS)
    from . import events

    started += await events.deliver_due_events(runtime, now)
    store = runtime.store
    due: list[str] = await runtime.call(store.list_due_runs, now=now, limit=SWEEP_BATCH)
    if now - _last_purge.get(runtime, float("-inf")) >= PURGE_INTERVAL_SECONDS:
        _last_purge[runtime] = now
        purge = getattr(store, "purge_expired_runs", None)  # stores of older versions
        purged = [] if purge is None else await runtime.call(purge, now=now, limit=SWEEP_BATCH)
        if purged:
            logger.info("retention: purged %d finished runs", len(purged))
    if runtime.dispatcher is not None:
        for run_id in due:
            await runtime.dispatcher.dispatch(run_id, now)
    due += await sweep_queues_if_due(runtime, now)
    return started + due


async def _fire_schedules(runtime: Runtime, now: float) -> list[str]:
    from .schedule import latest_cron_slot, latest_interval_slot

    moment = utc(now)
    started: list[str] = []
    for job in runtime.jobs.values():
        trigger = job.trigger
        if not job.enabled:
            continue
        if isinstance(trigger, CronTrigger):
            slot = latest_cron_slot(
                trigger.expr, moment, timezone=trigger.timezone,
                window=timedelta(seconds=SCHEDULE_CATCH_UP_SECONDS + 60),
            )
        elif isinstance(trigger, IntervalTrigger):
            slot = latest_interval_slot(trigger.seconds, moment)
        else:
            continue
        if slot is None or now - slot.timestamp() > SCHEDULE_CATCH_UP_SECONDS:
            continue
        expires_at = now + 7 * 24 * 3600
        if not await runtime.call(
            runtime.store.claim_slot, job.id, slot.isoformat(), expires_at=expires_at
        ):
            continue
        payload = {
            "ts": slot.isoformat(),
            "last_timestamp": await _previous_scheduled_ts(runtime, job.id, slot.isoformat()),
        }
        run_id = derived_id(f"schedule:{slot.isoformat()}", job.id)
        await create_run(runtime, job, payload_json(payload), run_id=run_id)
        started.append(run_id)
    return started


async def _previous_scheduled_ts(runtime: Runtime, job_id: str, slot: str) -> str | None:
    """The `ts` of the job's latest scheduled run before `slot` (None on the first run).

    Read from the job's newest runs; a run counts only when its id is the one the
    schedule derives from its `ts`, so a manual invoke with a copied payload does not.
    """
    records, _ = await runtime.call(
        runtime.store.list_runs, job_id=job_id, status=None, limit=PREVIOUS_RUN_SCAN,
        cursor=None,
    )
    before = datetime.fromisoformat(slot)
    latest: tuple[datetime, str] | None = None
    for record in records:
        payload = load_json(record.payload_json)
        ts = payload.get("ts") if isinstance(payload, dict) else None
        if not isinstance(ts, str) or record.id != derived_id(f"schedule:{ts}", job_id):
            continue
        moment = datetime.fromisoformat(ts)
        if moment < before and (latest is None or moment > latest[0]):
            latest = (moment, ts)
    return None if latest is None else latest[1]


def next_fire_times(runtime: Runtime, *, count: int, now: float) -> list[dict[str, Any]]:
    """Each scheduled job's trigger and its next `count` fire times (ISO 8601, UTC)."""
    from .schedule import MAX_FIRE_TIMES, next_fire_times

    if not 0 <= count <= MAX_FIRE_TIMES:
        raise ConfigError(f"count must be within 0-{MAX_FIRE_TIMES}, got {count}")
    moment = utc(now)
    schedules: list[dict[str, Any]] = []
    for job in runtime.jobs.values():
        trigger = job.trigger
        if isinstance(trigger, CronTrigger | IntervalTrigger):
            times = next_fire_times(trigger, moment, count)
            schedules.append({
                "job_id": job.id, "enabled": job.enabled, "trigger": trigger.describe(),
                "next_fire_times": [t.isoformat() for t in times],
            })
    return schedules
