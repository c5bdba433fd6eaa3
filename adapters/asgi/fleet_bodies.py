"""Request bodies of the fleet routes (issue 19): bulk cancel and retry, new schedules.

Like bodies.py: the models validate the body and are the request schemas of
``/openapi.json``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from triggerfish.core.bulk import MAX_BULK_RUNS
from triggerfish.core.ids import ID_PATTERN, ID_RULE
from triggerfish.core.types import RunStatus

from .bodies import TIMESTAMP_SCHEMA_PATTERN


class BulkRunsBody(BaseModel):
    """The body of ``POST /api/runs/cancel`` and ``POST /api/runs/retry``: a filter."""

    model_config = ConfigDict(extra="forbid", title="BulkRunsBody")

    job_id: str | None = Field(default=None, min_length=1, description="Only runs of this job.")
    status: list[RunStatus] | None = Field(
        default=None, min_length=1, description="Run statuses, any case (one status alone is taken as a "
        "list of one); default: every status the action applies to (unfinished ones to "
        "cancel, FAILED and TIMED_OUT to retry).",
    )  # fmt: skip
    created_before: datetime | None = Field(
        default=None, description="Only runs created before this time (ISO 8601; without an "
        "offset, UTC).", json_schema_extra={"pattern": TIMESTAMP_SCHEMA_PATTERN},
    )  # fmt: skip
    created_after: datetime | None = Field(
        default=None, description="Only runs created after this time (ISO 8601; without an "
        "offset, UTC).", json_schema_extra={"pattern": TIMESTAMP_SCHEMA_PATTERN},
    )  # fmt: skip
    limit: int = Field(default=MAX_BULK_RUNS, ge=1, le=MAX_BULK_RUNS,
                       description="The most runs acted on by this call; call again for more.")  # fmt: skip

    @field_validator("status", mode="before")
    @classmethod
    def _status_any_case(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [value.upper()]
        if isinstance(value, list):
            return [v.upper() if isinstance(v, str) else v for v in value]
        return value

    @field_validator("created_before", "created_after", mode="before")
    @classmethod
    def _is_text(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, str):
            raise ValueError("must be an ISO 8601 date-time string")
        return value

    @field_validator("created_before", "created_after")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        """Without an offset: UTC, as the other routes read times."""
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)

    def filters(self) -> dict[str, Any]:
        """The keyword arguments of `client.cancel_runs` / `retry_runs`."""
        return {"job_id": self.job_id, "status": self.status, "limit": self.limit,
                "created_before": self.created_before, "created_after": self.created_after}  # fmt: skip


class BulkRunsAnswer(BaseModel):
    """The ids of the runs a bulk call acted on (fewer than `limit`: there are no more)."""

    run_ids: list[str]





class ScheduleBody(BaseModel):
    """The body of ``POST /api/schedules``: a schedule of a job (`client.create_schedule`)."""

    model_config = ConfigDict(extra="forbid", title="ScheduleBody")

    job_id: str = Field(min_length=1, description="The job whose runs it starts.")
    cron: str | None = Field(default=None, description="A cron expression (5 fields or a "
                             "macro such as @daily); give cron or interval.")  # fmt: skip
    interval: float | None = Field(default=None, ge=60, description="Seconds between runs "
                                   "(at least 60).")  # fmt: skip
    timezone: str | None = Field(default=None, description="IANA zone of a cron (default UTC).")
    payload: dict[str, Any] | None = Field(
        default=None, description='A JSON object each run\'s payload starts from ("ts", '
        '"last_timestamp" and "schedule_id" are added).',
    )  # fmt: skip
    id: str | None = Field(default=None, pattern=ID_PATTERN,
                           description=f"An id of your own ({ID_RULE}): creating it again "
                           "updates that schedule.")  # fmt: skip
