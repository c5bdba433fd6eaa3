"""Outputs and payloads as JSON, through pydantic (models, datetimes, UUIDs serialize)."""

from __future__ import annotations

import json
from typing import Any

from pydantic_core import PydanticSerializationError, to_jsonable_python

from .errors import OutputError


def dump_json(value: Any, *, key: str) -> str:
    """JSON text for `value`; an unserializable value is an OutputError naming key and type."""
    try:
        plain = to_jsonable_python(value)
        return json.dumps(plain, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (PydanticSerializationError, TypeError, ValueError) as exc:
        raise OutputError(
            key, f"a value of type {type(value).__name__} cannot be stored as JSON ({exc})"
        ) from exc


def load_json(text: str | None) -> Any:
    """The value stored by `dump_json` (None for no value)."""
    return None if text is None else json.loads(text)


def describe_error(exc: BaseException) -> dict[str, Any]:
    """The recorded form of an error: its type and message (and the task key of a TaskFailed)."""
    error: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)}
    key = getattr(exc, "key", None)
    if isinstance(key, str):
        error["key"] = key
    return error
