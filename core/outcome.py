"""`Outcome`: what one invocation ended with (the one pydantic model an SQS resume builds)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from .types import RunStatus


class Outcome(BaseModel):
    """What one invocation (`Client.execute`) ended with.

    `resume_at` is the epoch time at which the run wants its next invocation, None when it
    needs none (finished, or another invocation holds the lease).
    """

    model_config = ConfigDict(frozen=True)

    status: RunStatus
    resume_at: float | None = None
