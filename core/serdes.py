"""Task outputs as text and back, with their Python types (issue 18 item 3).

A `Serdes` is any object with ``serialize(value) -> str`` and ``deserialize(text) -> Any``
(`Client(serdes=)`, and `serdes=` on `io.run_task`, `io.parallel`, `io.invoke_and_wait`).
The default, `JsonSerdes`, writes plain JSON for plain JSON values and tags the rest, so a
task returns the same value and type when run and when replayed:

    datetime  {"$datetime": "2024-05-01T12:00:00+00:00"}   Decimal {"$decimal": "1.10"}
    date      {"$date": "2024-05-01"}                      UUID    {"$uuid": "..."}
    bytes     {"$bytes": "<base64>"}                       tuple   {"$tuple": [...]}
    set       {"$set": [...]}        frozenset {"$frozenset": [...]}
    a pydantic model  {"$model": {"type": "module:QualName", "data": {...}}}
    a dict whose only key is one of these tags, or with non-str keys: {"$dict": ...}

A tag is a dict of exactly one key, as MongoDB's extended JSON writes them: readable in
the dashboard, and a plain JSON value never looks like one (such a dict is wrapped in
"$dict"). Other values (dataclasses, enums, ...) are stored as pydantic makes them JSON,
as before: readable, not round-tripped.
"""

from __future__ import annotations

import base64
import json
from datetime import date, datetime
from decimal import Decimal
from importlib import import_module
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from pydantic_core import PydanticSerializationError

from .errors import ConfigError, OutputError
from .serialize import jsonable

__all__ = ["DEFAULT_SERDES", "JsonSerdes", "Serdes", "check_serdes", "dump_output", "load_output"]


@runtime_checkable
class Serdes(Protocol):
    """Turns a task's output into text to store, and that text back into the value."""

    def serialize(self, value: Any) -> str:
        """The text stored for `value`."""
        ...

    def deserialize(self, text: str) -> Any:
        """The value `serialize` was given."""
        ...


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_TAGS = frozenset({"$datetime", "$date", "$decimal", "$uuid", "$bytes", "$tuple", "$set",
                   "$frozenset", "$model", "$dict"})  # fmt: skip
_SCALARS = frozenset({str, int, float, bool, type(None)})
_MODELS: dict[str, type[Any]] = {}
"""Model classes encoded in this process, by "module:QualName": found on decode even when
defined inside a function (tests); elsewhere the class is imported by that name."""


def to_tagged(value: Any) -> Any:
    """`value` as JSON data, the types JSON would lose tagged (see the module docstring)."""
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if kind is list:  # scalar leaves inline: no call per leaf on the common plain output
        return [v if type(v) in _SCALARS else to_tagged(v) for v in value]
    if kind is dict:
        if all(type(k) is str for k in value):
            plain = {k: v if type(v) in _SCALARS else to_tagged(v) for k, v in value.items()}
            return {"$dict": plain} if len(plain) == 1 and next(iter(plain)) in _TAGS else plain
        return {"$dict": [[to_tagged(k), to_tagged(v)] for k, v in value.items()]}
    if kind is datetime:
        return {"$datetime": value.isoformat()}
    if kind is date:
        return {"$date": value.isoformat()}
    if kind is Decimal:
        return {"$decimal": str(value)}
    if kind is UUID:
        return {"$uuid": str(value)}
    if kind is bytes:
        return {"$bytes": base64.b64encode(value).decode()}
    if kind is tuple:
        return {"$tuple": [to_tagged(v) for v in value]}
    if kind is set or kind is frozenset:
        return {f"${kind.__name__}": [to_tagged(v) for v in value]}
    model_dump = getattr(value, "model_dump", None)
    if model_dump is not None and hasattr(kind, "model_validate"):
        name = f"{kind.__module__}:{kind.__qualname__}"
        _MODELS[name] = kind
        return {"$model": {"type": name, "data": to_tagged(model_dump(round_trip=True))}}
    return to_tagged(jsonable(value))


def from_tagged(data: Any) -> Any:
    """The value `to_tagged` was given."""
    kind = type(data)
    if kind is list:
        return [from_tagged(v) for v in data]
    if kind is not dict:
        return data
    if len(data) == 1:
        ((tag, inner),) = data.items()
        if tag in _TAGS:
            return _untag(tag, inner)
    return {k: from_tagged(v) for k, v in data.items()}


def _untag(tag: str, inner: Any) -> Any:
    if tag == "$datetime":
        return datetime.fromisoformat(inner)
    if tag == "$date":
        return date.fromisoformat(inner)
    if tag == "$decimal":
        return Decimal(inner)
    if tag == "$uuid":
        return UUID(inner)
    if tag == "$bytes":
        return base64.b64decode(inner)
    if tag == "$tuple":
        return tuple(from_tagged(v) for v in inner)
    if tag == "$set":
        return {from_tagged(v) for v in inner}
    if tag == "$frozenset":
        return frozenset(from_tagged(v) for v in inner)
    if tag == "$model":
        return _model_class(inner["type"]).model_validate(from_tagged(inner["data"]))
    if isinstance(inner, list):  # "$dict" with non-str keys
        return {from_tagged(k): from_tagged(v) for k, v in inner}
    return {k: from_tagged(v) for k, v in inner.items()}


def _model_class(name: str) -> Any:
    """The pydantic model class named "module:QualName" (only BaseModel subclasses)."""
    found = _MODELS.get(name)
    if found is not None:
        return found
    from pydantic import BaseModel

    module, _, qualname = name.partition(":")
    target: Any = None
    try:
        target = import_module(module)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError):
        target = None
    if not (isinstance(target, type) and issubclass(target, BaseModel)):
        raise TypeError(f"a stored output names the pydantic model {name!r}, which cannot be "
                        "imported here: define the model at module level")  # fmt: skip
    _MODELS[name] = target
    return target


class JsonSerdes:
    """The default serdes: plain JSON stays plain; datetime, date, Decimal, UUID, bytes,
    tuple, set and pydantic models are tagged and come back with their type."""

    def serialize(self, value: Any) -> str:
        """JSON text for `value` (ValueError/TypeError when it cannot be JSON)."""
        text: str = _ENCODER.encode(to_tagged(value))
        return text

    def deserialize(self, text: str) -> Any:
        """The value of JSON `text`; tags are only looked for when a "$" key may be in it."""
        data = json.loads(text)
        return from_tagged(data) if '"$' in text else data

    def __repr__(self) -> str:
        return "JsonSerdes()"


DEFAULT_SERDES = JsonSerdes()
_SAME_AFTER_JSON = frozenset({int, str, bool, float, type(None)})
"""Types whose values come back from the default serdes equal and of the same type."""


def check_serdes(serdes: object, *, field: str) -> None:
    """A ConfigError naming `field` unless `serdes` is None or has serialize/deserialize."""
    if serdes is not None and not (
        callable(getattr(serdes, "serialize", None)) and callable(getattr(serdes, "deserialize", None))
    ):
        raise ConfigError(f"{field} must have serialize(value) -> str and deserialize(text) "
                          f"methods, got {serdes!r}")  # fmt: skip


def dump_output(value: Any, *, key: str, serdes: Serdes | None = None) -> str:
    """The stored text of a task's output; an unstorable value is an OutputError naming `key`."""
    if serdes is None or serdes is DEFAULT_SERDES:
        kind = type(value)
        if kind is int:  # the commonest output: its text without an encoder
            try:
                return int.__repr__(value)
            except ValueError as exc:  # more digits than Python turns into text
                raise OutputError(key, f"an int too long to store ({exc})") from exc
        if kind in _SAME_AFTER_JSON:  # the common scalar: no walk at all
            try:
                text: str = _ENCODER.encode(value)
                text.encode()
                return text
            except UnicodeEncodeError as exc:
                raise OutputError(key, f"holds text that is not valid Unicode ({exc.reason})") from exc
            except ValueError as exc:  # NaN or an infinity
                raise OutputError(key, f"a float that JSON cannot hold ({exc})") from exc
        serdes = DEFAULT_SERDES
    try:
        text = serdes.serialize(value)
        if not isinstance(text, str):
            raise TypeError(f"serialize returned {type(text).__name__}, not str")
        text.encode()
    except UnicodeEncodeError as exc:
        raise OutputError(key, f"holds text that is not valid Unicode ({exc.reason})") from exc
    except (PydanticSerializationError, TypeError, ValueError, RecursionError) as exc:
        raise OutputError(
            key, f"a value of type {type(value).__name__} cannot be stored ({exc})"
        ) from exc
    return text


def load_output(text: str | None, serdes: Serdes | None = None) -> Any:
    """The value whose stored text is `text` (None for no value)."""
    if text is None:
        return None
    return (serdes or DEFAULT_SERDES).deserialize(text)
