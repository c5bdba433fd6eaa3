"""Request bodies: read once, parsed as JSON, validated by the pydantic models here.

The models are also the request schemas of ``/openapi.json``, so the documented shape is
the enforced one.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.requests import Request

from .errors import APIError, validation_details

ModelT = TypeVar("ModelT", bound=BaseModel)


class EventBody(BaseModel):
    """The body of ``POST /api/events``."""

    model_config = ConfigDict(extra="forbid", title="EventBody")

    name: str = Field(min_length=1, description="The event name jobs' event triggers match.")
    payload: Any = Field(default=None, description="Any JSON; validated by each job's schema.")
    id: str | None = Field(
        default=None,
        min_length=1,
        description="Idempotency key: a second event with this id starts no new run.",
    )
    timestamp: datetime | None = Field(default=None, description="When it happened (ISO 8601).")

    @field_validator("timestamp", mode="before")
    @classmethod
    def _timestamp_is_text(cls, value: Any) -> Any:
        """Only ISO 8601 text, as documented (pydantic alone would take epoch numbers)."""
        if value is not None and not isinstance(value, str):
            raise ValueError("must be an ISO 8601 date-time string")
        return value


class InvokeBody(BaseModel):
    """The body of ``POST /api/jobs/{id}/invoke``: the payload inside an envelope."""

    model_config = ConfigDict(extra="forbid", title="InvokeBody")

    payload: Any = Field(default=None, description="Any JSON; validated by the job's schema.")
    id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._:-]{1,128}$",
        description="The run id to use (1 to 128 letters, digits or . _ : -); a second "
        "invoke with this id starts no new run.",
    )


async def read_json(request: Request) -> Any:
    """The body as JSON; an empty body is ``{}``, anything unparsable a 400."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise APIError(400, "invalid_json", f"request body is not valid JSON: {exc}") from exc


async def read_model(request: Request, model: type[ModelT]) -> ModelT:
    """The body validated by `model`; a 422 whose ``fields`` name each wrong field."""
    data = await read_json(request)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = validation_details(exc, prefix=("body",))
        names = ", ".join(".".join(f["loc"]) for f in details["fields"])
        raise APIError(
            422, "validation_error", f"request body is not a valid {model.__name__}: {names}",
            **details,
        ) from exc
