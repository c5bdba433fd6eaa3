"""Outputs and payloads as JSON, through pydantic (models, datetimes, UUIDs serialize)."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic_core import PydanticSerializationError, to_jsonable_python

from .errors import OutputError


def dump_json(value: Any, *, key: str) -> str:
    """JSON text for `value`; an unserializable value is an OutputError naming key and type."""
    try:
        plain = jsonable(value)
        text = json.dumps(plain, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        text.encode()
    except UnicodeEncodeError as exc:
        raise OutputError(key, f"holds text that is not valid Unicode ({exc.reason})") from exc
    except (PydanticSerializationError, TypeError, ValueError) as exc:
        raise OutputError(
            key, f"a value of type {type(value).__name__} cannot be stored as JSON ({exc})"
        ) from exc
    return text


def jsonable(value: Any) -> Any:
    """`to_jsonable_python(value)`, building first any deferred pydantic model met on the way.

    pydantic-core cannot build a `defer_build` model itself: an instance of one made without
    validating (`ctx`, built by `gates.run_context`) fails to serialize until its class is
    built. Only that failure pays the walk; the common value goes straight through.
    """
    try:
        return to_jsonable_python(value)
    except TypeError as exc:
        if "MockValSer" not in str(exc) or not _build_deferred_models(value, set()):
            raise
    return to_jsonable_python(value)


def _build_deferred_models(value: Any, seen: set[int]) -> bool:
    """Builds the not yet built model classes of the models inside `value`; True if any."""
    if id(value) in seen:
        return False
    seen.add(id(value))
    built = False
    kind = type(value)
    if getattr(kind, "__pydantic_complete__", True) is False:
        kind.model_rebuild()
        built = True
    if isinstance(value, dict):
        items: Any = value.values()
    elif isinstance(value, list | tuple | set | frozenset):
        items = value
    elif hasattr(kind, "__pydantic_fields__"):
        items = value.__dict__.values()
    else:
        return built
    for item in items:
        built = _build_deferred_models(item, seen) or built
    return built


def load_json(text: str | None) -> Any:
    """The value stored by `dump_json` (None for no value)."""
    return None if text is None else json.loads(text)


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_TOKEN_BYTES = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def nests_deeper(text: str | bytes, limit: int) -> bool:
    """True when the arrays and objects of JSON `text` nest deeper than `limit`.

    Checked before `json.loads`, whose recursion on hostile input (``[[[[...``) runs the
    interpreter to its recursion limit, where any finalizer that happens to run fails too.
    Found without parsing and without recursion; brackets inside strings do not count.
    """
    if isinstance(text, str):
        if text.count("[") + text.count("{") <= limit:
            return False
        tokens = (m.group()[:1] for m in _TOKEN.finditer(text))
    else:
        if text.count(b"[") + text.count(b"{") <= limit:
            return False
        tokens = (m.group()[:1].decode() for m in _TOKEN_BYTES.finditer(text))
    depth = 0
    for first in tokens:
        if first in "[{":
            depth += 1
            if depth > limit:
                return True
        elif first in "]}":
            depth -= 1
    return False


MAX_ERROR_MESSAGE_CHARS = 8192
"""Longer messages are cut, so an error always fits its item (DynamoDB's 400 KB)."""


def shorten(message: str, limit: int = MAX_ERROR_MESSAGE_CHARS) -> str:
    """`message`, cut to `limit` characters with a note of how much was dropped."""
    if len(message) <= limit:
        return message
    return f"{message[:limit]}... ({len(message) - limit} more characters)"


def describe_error(exc: BaseException) -> dict[str, Any]:
    """The recorded form of an error: its type and message, never raising.

    For a TaskFailed, the original error's type and message, with the failed task's key,
    so a failed run says what went wrong rather than only that a task failed. An error
    whose `str()` raises or is not text falls back to its `repr()`, then to its type name.
    """
    from .errors import TaskFailed

    if isinstance(exc, TaskFailed):
        original = exc.error
        return {
            "type": safe_text(original.get("type", "TaskFailed"), limit=200),
            "message": safe_text(original.get("message", "")),
            "task": exc.key,
        }
    error: dict[str, Any] = {"type": error_type_name(exc), "message": error_message(exc)}
    try:
        key = getattr(exc, "key", None)
    except Exception:  # noqa: BLE001 - a hostile __getattr__ must not stop the description
        key = None
    if isinstance(key, str):
        error["key"] = safe_text(key, limit=1024)
    return error


def error_type_name(exc: BaseException) -> str:
    """The error's class name as plain, bounded text."""
    name = getattr(type(exc), "__name__", None)
    return safe_text(name, limit=200) if isinstance(name, str) and name else "Exception"


def error_message(exc: BaseException) -> str:
    """`str(exc)`; else `repr(exc)`; else ``<TypeName>``: bounded, valid Unicode text."""
    for describe in (str, repr):
        try:
            text = describe(exc)
        except Exception:  # noqa: BLE001, S112 - a broken __str__/__repr__ is the user's bug
            continue
        if isinstance(text, str):
            return safe_text(text)
    return f"<{error_type_name(exc)}>"


def safe_text(value: Any, limit: int = MAX_ERROR_MESSAGE_CHARS) -> str:
    """`value` as text a store accepts: str subclasses made plain, lone surrogates escaped,
    and cut to `limit` characters.
    """
    if not isinstance(value, str):
        try:
            value = str(value)
        except Exception:  # noqa: BLE001
            value = f"<{type(value).__name__}>"
        if not isinstance(value, str):  # pragma: no cover - str() always returns str
            value = "<?>"
    plain = str.__str__(value)[: limit * 2 + 64]
    plain = plain.encode("utf-8", "backslashreplace").decode("utf-8")
    return shorten(plain, limit)
