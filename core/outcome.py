"""`Outcome`: what one invocation ended with."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from .types import RunStatus


class Outcome(BaseModel):
    """What one invocation (`Client.execute`) ended with.

    `resume_at` is the epoch time at which the run wants its next invocation, None when it
    needs none (finished, or another invocation holds the lease).
    """

    # Built on first validation: the engine makes its outcomes with `new_outcome()`, so an SQS
    # resume on a cold Lambda builds no pydantic schema of ours.
    model_config = ConfigDict(frozen=True, defer_build=True)

    status: RunStatus
    resume_at: float | None = None


def new_outcome(status: RunStatus, resume_at: float | None = None) -> Outcome:
    """The `Outcome` the engine returns, equal to `Outcome(status=..., resume_at=...)`: its
    values are already of the fields' types, so it is not validated again."""
    if resume_at is None:
        return Outcome.model_construct(status=RunStatus(status))
    return Outcome.model_construct(status=RunStatus(status), resume_at=float(resume_at))
