"""`Context`: what a run function knows about its run, job, event and environment.

The four models are built on first validation (`defer_build`): every invocation makes its
`ctx` from values already of the fields' types (`gates.run_context`), so an SQS resume on a
cold Lambda never pays pydantic's schema building for them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class RunInfo(BaseModel):
    """The run being executed."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    id: str
    attempt: int
    """The run's attempt: 1 for the first, one more after each `client.retry_run` (not the
    invocation count)."""
    invocation: int
    """How many invocations this run has had, this one included."""
    started_at: datetime | None
    is_retry: bool = False
    """True when this run retries an earlier attempt (`attempt` > 1)."""

    @property
    def invocation_count(self) -> int:
        """The same as `invocation`."""
        return self.invocation


class JobInfo(BaseModel):
    """The job the run belongs to."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    id: str
    version: str


class EventInfo(BaseModel):
    """The event (or invocation) that started the run."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    id: str | None
    name: str | None
    timestamp: datetime
    context: dict[str, Any] = {}


class Context(BaseModel):
    """The `ctx` argument of a run function."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    run: RunInfo
    job: JobInfo
    environment: str
    organization: str | None
    event: EventInfo
