"""`FleetOperations`: pausing jobs, acting on many runs at once and schedules made at run
time (issue 19, DESIGN.md "Flow control and fleet operations"), as methods of `Client`.

A base of `Client` (core/client.py); each method delegates to a module over the runtime:
pause_job / resume_job to pauses.py, cancel_runs / retry_runs to bulk.py, the schedule
methods to schedules.py (each imported on first use).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .bulk import MAX_BULK_RUNS
from .types import RunStatus

if TYPE_CHECKING:
    from .models import Schedule
    from .runtime import Runtime

__all__ = ["FleetOperations"]


class FleetOperations:
    """Fleet operations of a client (`runtime` is the client's)."""

    runtime: Runtime

    async def pause_job(self, job_id: str) -> bool:
        """Pauses a job: its new runs wait QUEUED; running ones finish their current
        invocation, then wait QUEUED. True when it was not paused already; JobNotFound.

        Other processes see the pause within `pause_flags.PAUSE_CACHE_SECONDS`.
        """
        from . import pauses

        return await pauses.pause_job(self.runtime, job_id)

    async def resume_job(self, job_id: str) -> bool:
        """Resumes a paused job and wakes its queued runs, oldest first; True when it was
        paused. Safe to repeat."""
        from . import pauses

        return await pauses.resume_job(self.runtime, job_id)

    async def is_job_paused(self, job_id: str) -> bool:
        """Whether the job is paused, read from the store (JobNotFound for an unknown job)."""
        from . import pauses

        return await pauses.is_job_paused(self.runtime, job_id)

    async def cancel_runs(
        self,
        job_id: str | None = None,
        status: RunStatus | str | list[RunStatus | str] | None = None,
        created_before: datetime | None = None,
        created_after: datetime | None = None,
        *,
        limit: int = MAX_BULK_RUNS,
    ) -> list[str]:
        """Cancels every unfinished run the filter matches; returns the ids it canceled.

        `status`: one or a list (default every unfinished status); `created_before` and
        `created_after`: aware datetimes (bounds excluded). At most `limit` (1 to
        MAX_BULK_RUNS) runs per call: call again until it returns []. Safe to repeat.
        """
        from . import bulk

        return await bulk.cancel_runs(
            self.runtime, job_id=job_id, status=status, created_before=created_before,
            created_after=created_after, limit=limit,
        )  # fmt: skip

    async def retry_runs(
        self,
        job_id: str | None = None,
        status: RunStatus | str | list[RunStatus | str] | None = None,
        created_before: datetime | None = None,
        created_after: datetime | None = None,
        *,
        limit: int = MAX_BULK_RUNS,
    ) -> list[str]:
        """Retries (as `retry_run`) every FAILED or TIMED_OUT run the filter matches; returns
        the ids it retried. The filter and `limit` as for `cancel_runs`. Safe to repeat."""
        from . import bulk

        return await bulk.retry_runs(
            self.runtime, job_id=job_id, status=status, created_before=created_before,
            created_after=created_after, limit=limit,
        )  # fmt: skip

    async def create_schedule(
        self,
        job_id: str,
        *,
        cron: str | None = None,
        interval: float | timedelta | None = None,
        timezone: str | None = None,
        payload: dict[str, Any] | None = None,
        id: str | None = None,
    ) -> Schedule:
        """Stores a schedule that starts runs of `job_id`, fired once per slot like declared
        triggers. `cron` (with an IANA `timezone`, default UTC) or `interval` (seconds or a
        timedelta, at least 60); `payload`: a dict each run's payload starts from ("ts",
        "last_timestamp", "schedule_id" are added). An `id` of your own makes it idempotent:
        creating it again updates it. JobNotFound; ConfigError naming a bad option.
        """
        from . import schedules

        return await schedules.create_schedule(
            self.runtime, job_id, cron=cron, interval=interval, timezone=timezone,
            payload=payload, id=id,
        )  # fmt: skip

    async def list_schedules(self, job_id: str | None = None) -> list[Schedule]:
        """Every schedule (of one job): declared triggers (`declared`, id = the job's id)
        first, then stored ones by id."""
        from . import schedules

        return await schedules.list_schedules(self.runtime, job_id)

    async def get_schedule(self, id: str) -> Schedule:
        """One stored schedule; ScheduleNotFound otherwise."""
        from . import schedules

        return await schedules.get_schedule(self.runtime, id)

    async def pause_schedule(self, id: str) -> Schedule:
        """Stops a stored schedule firing until `resume_schedule`; safe to repeat.

        ScheduleNotFound for an unknown id; a declared one is a ConfigError (use pause_job).
        """
        from . import schedules

        return await schedules.set_paused(self.runtime, id, paused=True)

    async def resume_schedule(self, id: str) -> Schedule:
        """Lets a paused schedule fire again from its next slot (missed ones are skipped)."""
        from . import schedules

        return await schedules.set_paused(self.runtime, id, paused=False)

    async def delete_schedule(self, id: str) -> bool:
        """Deletes a stored schedule; False when there is none. Its runs are kept."""
        from . import schedules

        return await schedules.delete_schedule(self.runtime, id)

    # -- connections --------------------------------------------------------------------
