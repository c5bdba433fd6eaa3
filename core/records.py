"""`@record`: frozen dataclasses that cost one compiled method at import, not five.

``@dataclass(frozen=True)`` compiles `__init__`, `__setattr__`, `__delattr__`, `__eq__`,
`__hash__` and `__repr__` from source for every class, at import (~0.1 ms each; a Lambda
cold start pays for all of them). A class declared ``@record`` on top of `Record` is a
dataclass (`fields`, `replace`, `asdict` work) with the same behaviour, from methods
written once here: immutable (assigning or deleting raises `FrozenInstanceError`), equal
when of the same class with equal compared fields, hashed from those fields, shown as
``Name(field=value, ...)`` without its `repr=False` fields. Only its `__init__` is compiled;
it stores the fields straight into the instance's `__dict__`. Not supported (refused):
`__post_init__`, `init=False` and `kw_only` fields.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, FrozenInstanceError, dataclass, field, fields
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:

    def dataclass_transform(**_: Any) -> Callable[[Any], Any]:
        return lambda decorator: decorator


_T = TypeVar("_T", bound=type)


class Record:
    """Base of `@record` classes: dataclass equality, hash, repr and immutability."""

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

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def record(cls: _T) -> _T:
    """Makes `cls` (a `Record` subclass with annotated fields) a frozen dataclass."""
    # dataclass() processes cls as not frozen (compiling nothing), so it must not see its
    # record bases as frozen while it does: their flag is lowered for that call only.
    bases = [b for b in cls.__mro__[1:] if "__dataclass_params__" in vars(b)]
    for base in bases:
        base.__dataclass_params__.frozen = False  # type: ignore[attr-defined]
    try:
        dataclass(init=False, eq=False, repr=False)(cls)  # fields, replace(); cls in place
    finally:
        for base in bases:
            base.__dataclass_params__.frozen = True  # type: ignore[attr-defined]
    for f in fields(cls):
        if not f.init or f.kw_only:
            raise TypeError(
                f"@record {cls.__name__}.{f.name}: init=False and kw_only are not supported"
            )
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"@record {cls.__name__}: __post_init__ is not supported")
    # Immutable, as dataclass(frozen=True) makes it (a dataclass subclass must be frozen too).
    cls.__dataclass_params__.frozen = True  # type: ignore[attr-defined]
    cls.__init__ = _compiled_init(cls)  # type: ignore[misc]
    return cls


_NO_VALUE = object()
"""The default of a parameter whose field has a default_factory."""


def _compiled_init(cls: type) -> Callable[..., None]:
    """An `__init__` taking the fields as dataclass's does, storing them straight into the
    instance's `__dict__` (a key-sharing dict, as attribute assignment makes)."""
    names: dict[str, Any] = {"_NO_VALUE": _NO_VALUE}
    parameters, values = [], []
    for f in fields(cls):
        if f.default is not MISSING:
            names[f"_default_{f.name}"] = f.default
            parameters.append(f"{f.name}=_default_{f.name}")
            values.append(f"d[{f.name!r}] = {f.name}")
        elif f.default_factory is not MISSING:
            names[f"_factory_{f.name}"] = f.default_factory
            parameters.append(f"{f.name}=_NO_VALUE")
            values.append(
                f"d[{f.name!r}] = _factory_{f.name}() if {f.name} is _NO_VALUE else {f.name}"
            )
        else:
            parameters.append(f.name)
            values.append(f"d[{f.name!r}] = {f.name}")
    body = "".join(f"    {line}\n" for line in ["d = self.__dict__", *values])
    source = f"def __init__(self, {', '.join(parameters)}):\n{body}"
    exec(source, names)  # noqa: S102 - our own field names, as dataclasses does
    init: Callable[..., None] = names["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    return init


def _compared(record: Any) -> tuple[Any, ...]:
    return tuple(getattr(record, f.name) for f in fields(record) if f.compare)
