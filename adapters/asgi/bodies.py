"""Request bodies: read once, parsed as JSON, validated by the pydantic models here.

The models are also the request schemas of ``/openapi.json``, so the documented shape is
the enforced one.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from starlette.requests import Request
from triggerfish.core.durations import MAX_WAIT_SECONDS
from triggerfish.core.ids import ID_PATTERN, ID_RULE
from triggerfish.core.models import MAX_TIMESTAMP, MIN_TIMESTAMP, utc
from triggerfish.core.names import MAX_NAME_BYTES
from triggerfish.core.serialize import nests_deeper
from triggerfish.core.store.base import MAX_PRIORITY

from ..edge import MAX_JSON_DEPTH
from .errors import APIError, validation_details


def _whole_float_as_int(value: Any) -> Any:
    """JSON Schema's "integer" admits 2.0: take it as 2; anything else goes to strict int
    validation (which refuses true, "2" and 2.5)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole_float_as_int)]
"""An integer field of a request body: 2 and 2.0, not true, "2" or 2.5."""

ModelT = TypeVar("ModelT", bound=BaseModel)
TIMESTAMP_SCHEMA_PATTERN = r"^(197[1-9]|19[89]\d|[2-8]\d{3}|9[0-8]\d{2}|99[0-8]\d|999[0-8])-"


class EventBody(BaseModel):
    """The body of ``POST /api/events``."""

    model_config = ConfigDict(
        extra="forbid", title="EventBody",
        json_schema_extra={"not": {"required": ["deliver_at", "deliver_after"]}},
    )  # fmt: skip

    name: str = Field(
        min_length=1,
        # 256 characters of at most 4 UTF-8 bytes each always fit core's MAX_NAME_BYTES.
        max_length=MAX_NAME_BYTES // 4,
        description="The event name jobs' event triggers match (at most 256 characters).",
    )
    payload: Any = Field(default=None, description="Any JSON; validated by each job's schema.")
    id: str | None = Field(
        default=None,
        pattern=ID_PATTERN,
        description=f"Idempotency key ({ID_RULE}): a second event with this id starts no "
        "new run.",
    )
    timestamp: datetime | None = Field(
        default=None,
        description="When it happened (ISO 8601; without an offset, UTC), from "
        "1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z once converted to UTC.",
        # The schema's pattern (years 1971..9998 as written) is a subset that any offset
        # keeps in range, so a generated schema-valid body is always accepted.
        json_schema_extra={"pattern": TIMESTAMP_SCHEMA_PATTERN},
    )

    deliver_at: datetime | None = Field(
        default=None,
        description="Deliver the event at this time (ISO 8601; without an offset, UTC) "
        "instead of now; a time already past delivers it now. Not with deliver_after.",
        json_schema_extra={"pattern": TIMESTAMP_SCHEMA_PATTERN},
    )
    deliver_after: float | None = Field(
        default=None, gt=0, le=MAX_WAIT_SECONDS,
        description="Deliver the event this many seconds from now (at most 365 days).",
    )  # fmt: skip
    priority: WholeNumber = Field(
        default=0, ge=-MAX_PRIORITY, le=MAX_PRIORITY, strict=True,
        description="Runs it starts leave their queues before those of lower priority.",
    )  # fmt: skip
    context: dict[str, Any] | None = Field(
        default=None,
        description="A JSON object (at most 32 KB) that travels with the event: "
        "ctx.event.context in the runs it starts, .context of an io.wait_for_event.",
    )

    @model_validator(mode="after")
    def _one_delay(self) -> EventBody:
        if self.deliver_at is not None and self.deliver_after is not None:
            raise ValueError("give deliver_at or deliver_after, not both")
        return self

    @field_validator("timestamp", "deliver_at", mode="before")
    @classmethod
    def _timestamp_is_text(cls, value: Any) -> Any:
        """Only ISO 8601 text, as documented (pydantic alone would take epoch numbers)."""
        if value is not None and not isinstance(value, str):
            raise ValueError("must be an ISO 8601 date-time string")
        return value

    @field_validator("timestamp", "deliver_at")
    @classmethod
    def _timestamp_in_range(cls, value: datetime | None) -> datetime | None:
        """In UTC between 1970 and 9999, or refused here: never stored, then unreadable."""
        if value is None:
            return None
        offset = value.utcoffset()
        naive = value.replace(tzinfo=None)
        # Timedelta arithmetic: converting 9999-12-31T23:59:59-23:59 to UTC would overflow.
        epoch = (naive - datetime(1970, 1, 1)).total_seconds()
        epoch -= offset.total_seconds() if offset is not None else 0.0
        if not MIN_TIMESTAMP <= epoch <= MAX_TIMESTAMP:
            raise ValueError(
                "must be from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z once converted "
                f"to UTC, got {value.isoformat()}"
            )
        return utc(epoch)


class InvokeBody(BaseModel):
    """The body of ``POST /api/jobs/{id}/invoke``: the payload inside an envelope."""

    model_config = ConfigDict(extra="forbid", title="InvokeBody")

    payload: Any = Field(default=None, description="Any JSON; validated by the job's schema.")
    id: str | None = Field(
        default=None,
        pattern=ID_PATTERN,
        description=f"The run id to use ({ID_RULE}); a second "
        "invoke with this id starts no new run.",
    )
    priority: WholeNumber = Field(
        default=0, ge=-MAX_PRIORITY, le=MAX_PRIORITY, strict=True,
        description="The run leaves its queues before runs of lower priority.",
    )  # fmt: skip


async def read_json(request: Request) -> Any:
    """The body as JSON; an empty body is ``{}``, anything unparsable or too deep a 400."""
    raw = await request.body()
    if not raw.strip():
        return {}
    if nests_deeper(raw, MAX_JSON_DEPTH):
        raise _too_deep()
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise APIError(400, "invalid_json", f"request body is not valid JSON: {exc}") from exc
    return value


def _too_deep() -> APIError:
    return APIError(
        400,
        "too_deep",
        f"request body is nested too deep: at most {MAX_JSON_DEPTH} levels of arrays and "
        "objects",
        max_depth=MAX_JSON_DEPTH,
    )


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


class ConnectionBody(BaseModel):
    """The body of ``PUT /api/connections/{name}``."""

    model_config = ConfigDict(extra="forbid", title="ConnectionBody")

    credentials: str | int | float | bool | list[Any] | dict[str, Any] = Field(
        description="The connection's credentials: a token, or an object of values (JSON, "
        "not null, at most 64 KB); stored sealed, never shown again.",
    )
