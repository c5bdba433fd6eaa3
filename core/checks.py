"""Argument checks the client's methods share: ids a store can look up, counts and limits.

Imports only the errors, so any module of a group of `Client` methods may use them.
"""

from __future__ import annotations

import math

from .errors import RunNotFound


def is_storable_id(value: object) -> bool:
    """True for a str both stores can look up: SQLite refuses lone surrogates with a
    UnicodeEncodeError and DynamoDB keys must be strings; such an id names nothing."""
    if not isinstance(value, str):
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def check_run_id(run_id: object) -> None:
    """`RunNotFound` for an id no run can have, the same on every store (DESIGN.md)."""
    if not is_storable_id(run_id):
        raise RunNotFound(run_id)  # type: ignore[arg-type]


def is_count(value: object, *, minimum: int, maximum: float = math.inf) -> bool:
    """True for an int (not a bool) within the bounds: counts and limits take no 1.5 or NaN."""
    return isinstance(value, int) and not isinstance(value, bool) and minimum <= value <= maximum
