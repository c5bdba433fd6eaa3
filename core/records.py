"""`Record`: shared `__eq__`, `__hash__` and `__repr__` for frozen dataclasses.

``@dataclass(frozen=True)`` compiles each of these methods from source for every class, at
import (~0.1 ms each; a Lambda cold start pays for all of them). Classes declared
``@dataclass(frozen=True, eq=False, repr=False)`` on top of `Record` get the same behaviour
from these three functions, written once: equal when of the same class with equal compared
fields, hashed from those fields, shown as ``Name(field=value, ...)``.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any


class Record:
    """Base of frozen record classes: dataclass equality, hash and repr, not generated."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return _compared(self) == _compared(other)

    def __hash__(self) -> int:
        return hash(_compared(self))

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.repr)  # type: ignore[arg-type]
        return f"{self.__class__.__qualname__}({shown})"


def _compared(record: Any) -> tuple[Any, ...]:
    return tuple(getattr(record, f.name) for f in fields(record) if f.compare)
