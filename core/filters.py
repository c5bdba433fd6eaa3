"""Event filters: Trigger.dev v2's EventFilter, checked at definition and matched per event.

A filter is a mapping from payload keys to a *matcher*:

- a nested mapping: a filter on the value at that key (an array value matches when
  any of its elements does);
- a list of values: the payload value equals one of them (a payload array: any
  element does); an empty list matches anything, even a missing key;
- a list of operator objects (``[{"$gt": 20}, {"$lt": 40}]``): every one matches;
- a bare value: shorthand for a one-value list; a mapping of operators only
  (``{"$gt": 20, "$lt": 40}``): shorthand for a list of one-operator objects.

Equality is JSON's: ``True`` never equals ``1``, ``"1"`` never equals ``1``, ``1 == 1.0``.
Only :func:`matches_filter` and :func:`validate_filter` are public; the engine reuses them
for ``io.wait_for_event``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from .errors import ConfigError

_MISSING: Any = object()
"""Stands for a key absent from the payload (JavaScript's ``undefined``)."""

Scalar = str | int | float | bool | None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _same(a: Any, b: Any) -> bool:
    """JSON equality of scalars: bools only equal bools, numbers only numbers (nan never)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if _is_number(a) or _is_number(b):
        return _is_number(a) and _is_number(b) and a == b
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    return a is None and b is None


def _any_element(value: Any, test: Callable[[Any], bool]) -> bool:
    """`test` on the value, or on any element when the value is an array."""
    if isinstance(value, list | tuple):
        return any(test(item) for item in value)
    return test(value)


def _string_op(fn: Callable[[str, str], bool]) -> Callable[[Any, Any], bool]:
    def check(value: Any, arg: Any) -> bool:
        return _any_element(value, lambda v: isinstance(v, str) and fn(v, arg))
    return check


def _number_op(fn: Callable[[float, Any], bool]) -> Callable[[Any, Any], bool]:
    def check(value: Any, arg: Any) -> bool:
        return _any_element(value, lambda v: _is_number(v) and fn(v, arg))
    return check


def _anything_but(value: Any, arg: Any) -> bool:
    excluded = arg if isinstance(arg, list | tuple) else [arg]
    if isinstance(value, list | tuple):
        return not any(_same(v, e) for v in value for e in excluded)
    return not any(_same(value, e) for e in excluded)


def _not(value: Any, arg: Any) -> bool:
    if isinstance(value, list | tuple):
        return not any(_same(v, arg) for v in value)
    if isinstance(value, str | int | float | bool):
        return not _same(value, arg)
    return False


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "$startsWith": _string_op(lambda v, a: v.startswith(a)),
    "$endsWith": _string_op(lambda v, a: v.endswith(a)),
    "$ignoreCaseEquals": _string_op(lambda v, a: v.casefold() == a.casefold()),
    "$exists": lambda v, a: (v is not _MISSING) is a,
    "$isNull": lambda v, a: (v is None) is a,
    "$anythingBut": _anything_but,
    "$gt": _number_op(lambda v, a: v > a),
    "$lt": _number_op(lambda v, a: v < a),
    "$gte": _number_op(lambda v, a: v >= a),
    "$lte": _number_op(lambda v, a: v <= a),
    "$between": _number_op(lambda v, a: a[0] <= v <= a[1]),
    "$includes": lambda v, a: isinstance(v, list | tuple) and any(_same(x, a) for x in v),
    "$not": _not,
}
OPERATORS = frozenset(_OPERATORS)
"""Every operator a filter may use, spelled as in Trigger.dev v2."""


def _finite_number(value: Any) -> bool:
    return _is_number(value) and math.isfinite(value)


def _check_argument(op: str, arg: Any, path: str) -> None:
    """A ConfigError naming the operator and path when `arg` does not fit `op`."""
    if op in ("$startsWith", "$endsWith", "$ignoreCaseEquals"):
        ok, want = isinstance(arg, str), "a string"
    elif op in ("$exists", "$isNull"):
        ok, want = isinstance(arg, bool), "true or false"
    elif op in ("$gt", "$lt", "$gte", "$lte"):
        ok, want = _finite_number(arg), "a finite number"
    elif op == "$between":
        ok = (isinstance(arg, list | tuple) and len(arg) == 2
              and all(_finite_number(a) for a in arg) and arg[0] <= arg[1])
        want = "[low, high], two finite numbers with low <= high"
    elif op == "$anythingBut":
        ok = _is_scalar(arg) or (
            isinstance(arg, list | tuple) and all(_is_scalar(a) for a in arg)
        )
        want = "a value or a list of values"
    else:  # $includes, $not
        ok, want = _is_scalar(arg), "a string, number, boolean or null"
    if not ok:
        raise ConfigError(f"filter operator {op} at {path} needs {want}, got {arg!r}")


def _check_operator(op: str, arg: Any, path: str) -> None:
    if op not in _OPERATORS:
        known = ", ".join(sorted(_OPERATORS))
        raise ConfigError(f"unknown filter operator {op!r} at {path}; known operators: {known}")
    _check_argument(op, arg, path)


def _is_operator_mapping(value: Mapping[str, Any]) -> bool:
    return bool(value) and all(isinstance(k, str) and k.startswith("$") for k in value)


def _check_matcher(matcher: Any, path: str) -> None:
    if isinstance(matcher, Mapping):
        if _is_operator_mapping(matcher):
            for op, arg in matcher.items():
                _check_operator(op, arg, f"{path}.{op}")
        else:
            validate_filter(matcher, path=path)
    elif isinstance(matcher, list | tuple):
        operators = [m for m in matcher if isinstance(m, Mapping)]
        if operators and len(operators) != len(matcher):
            raise ConfigError(
                f"filter list at {path} mixes values and operator objects; use one kind"
            )
        for index, item in enumerate(matcher):
            where = f"{path}[{index}]"
            if isinstance(item, Mapping):
                if len(item) != 1:
                    raise ConfigError(
                        f"filter operator object at {where} needs exactly one key, got "
                        f"{sorted(map(str, item))}"
                    )
                ((op, arg),) = item.items()
                _check_operator(str(op), arg, where)
            elif not _is_scalar(item):
                raise ConfigError(f"filter value at {where} must be a string, number, "
                                  f"boolean or null, got {type(item).__name__}")
            elif isinstance(item, float) and math.isnan(item):
                raise ConfigError(f"filter value at {where} is nan, which equals nothing")
    elif not _is_scalar(matcher):
        raise ConfigError(f"filter at {path} must be a mapping, a list or a value, "
                          f"got {type(matcher).__name__}")


def validate_filter(filter: Any, *, path: str = "filter") -> None:
    """Raises ConfigError naming the path (``filter.user.plan[0]``) of the first bad part."""
    if not isinstance(filter, Mapping):
        raise ConfigError(f"{path} must be a mapping of payload keys, got {type(filter).__name__}")
    for key, matcher in filter.items():
        if not isinstance(key, str):
            raise ConfigError(f"{path} keys must be strings, got {key!r}")
        if key.startswith("$"):
            if key in _OPERATORS:
                raise ConfigError(
                    f"filter operator {key} at {path} must sit under the payload key it tests, "
                    f"not beside other keys: {{'key': [{{{key!r}: ...}}]}}"
                )
            _check_operator(key, None, f"{path}.{key}")
        _check_matcher(matcher, f"{path}.{key}")


def _matches_list(matcher: list[Any] | tuple[Any, ...], value: Any) -> bool:
    if not matcher:
        return True
    if isinstance(matcher[0], Mapping):
        return all(_OPERATORS[op](value, arg) for item in matcher for op, arg in item.items())
    if value is _MISSING:
        return False
    return _any_element(value, lambda v: any(_same(v, allowed) for allowed in matcher))


def _matches_value(matcher: Any, value: Any) -> bool:
    if isinstance(matcher, Mapping):
        if _is_operator_mapping(matcher):
            return all(_OPERATORS[op](value, arg) for op, arg in matcher.items())
        return _matches_mapping(matcher, None if value is _MISSING else value)
    if isinstance(matcher, list | tuple):
        return _matches_list(matcher, value)
    return value is not _MISSING and _any_element(value, lambda v: _same(v, matcher))


def _matches_mapping(filter: Mapping[str, Any], payload: Any) -> bool:
    if not filter:
        return True
    if isinstance(payload, list | tuple):
        return any(_matches_mapping(filter, item) for item in payload)
    if not isinstance(payload, Mapping):
        return False
    return all(
        _matches_value(matcher, payload.get(key, _MISSING)) for key, matcher in filter.items()
    )


def matches_filter(filter: Mapping[str, Any] | None, payload: Any) -> bool:
    """True when `payload` (plain JSON data) matches `filter`; None or ``{}`` matches anything.

    Assumes `filter` passed :func:`validate_filter` (``event_trigger`` checks it when defined).
    """
    if filter is None:
        return True
    return _matches_mapping(filter, payload)
