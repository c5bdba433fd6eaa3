"""`Context`: what a run function knows about its run, job, event and environment."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class RunInfo(BaseModel):
    """The run being executed."""

    model_config = ConfigDict(frozen=True)

    id: str
    attempt: int
    invocation: int
    started_at: datetime | None


class JobInfo(BaseModel):
    """The job the run belongs to."""

    model_config = ConfigDict(frozen=True)

    id: str
    version: str


class EventInfo(BaseModel):
    """The event (or invocation) that started the run."""

    model_config = ConfigDict(frozen=True)

    id: str | None
    name: str | None
    timestamp: datetime
    context: dict[str, Any] = {}


class Context(BaseModel):
    """The `ctx` argument of a run function."""

    model_config = ConfigDict(frozen=True)

    run: RunInfo
    job: JobInfo
    environment: str
    organization: str | None
    event: EventInfo
