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
        text = json.dumps(plain, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        text.encode()
    except UnicodeEncodeError as exc:
        raise OutputError(key, f"holds text that is not valid Unicode ({exc.reason})") from exc
    except (PydanticSerializationError, TypeError, ValueError) as exc:
        raise OutputError(
            key, f"a value of type {type(value).__name__} cannot be stored as JSON ({exc})"
        ) from exc
    return text


def load_json(text: str | None) -> Any:
    """The value stored by `dump_json` (None for no value)."""
    return None if text is None else json.loads(text)


MAX_ERROR_MESSAGE_CHARS = 8192
"""Longer messages are cut, so an error always fits its item (DynamoDB's 400 KB)."""


def shorten(message: str, limit: int = MAX_ERROR_MESSAGE_CHARS) -> str:
    """`message`, cut to `limit` characters with a note of how much was dropped."""
    if len(message) <= limit:
        return message
    return f"{message[:limit]}... ({len(message) - limit} more characters)"


def describe_error(exc: BaseException) -> dict[str, Any]:
    """The recorded form of an error: its type and message.

    For a TaskFailed, the original error's type and message, with the failed task's key,
    so a failed run says what went wrong rather than only that a task failed.
    """
    from .errors import TaskFailed

    if isinstance(exc, TaskFailed):
        original = exc.error
        return {
            "type": str(original.get("type", "TaskFailed")),
            "message": shorten(str(original.get("message", ""))),
            "task": exc.key,
        }
    error: dict[str, Any] = {"type": type(exc).__name__, "message": shorten(str(exc))}
    key = getattr(exc, "key", None)
    if isinstance(key, str):
        error["key"] = key
    return error
