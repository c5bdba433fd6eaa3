"""Limits every adapter applies to input at the edge (HTTP bodies, Lambda events, cursors).

Pure Python, no web framework: the Lambda worker path imports it without Starlette.
"""

from __future__ import annotations

import re
from typing import Any

MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects a body, payload or event may have."""

MAX_CURSOR_CHARS = 4096
"""Longer than any cursor a store issues (the largest, DynamoDB's, is under 1,200)."""
_CURSOR = re.compile(r"[A-Za-z0-9_=-]+")
CURSOR_ERRORS = (ValueError, KeyError, TypeError, OverflowError, RecursionError)
"""What a store may raise for a cursor it did not issue (huge numbers, deep nesting)."""


class TooDeep(ValueError):
    """A JSON value nested deeper than `MAX_JSON_DEPTH`."""

    def __init__(self, limit: int = MAX_JSON_DEPTH) -> None:
        super().__init__(f"JSON is nested too deep: more than {limit} levels of arrays/objects")
        self.limit = limit


def json_depth(value: Any, *, limit: int = MAX_JSON_DEPTH) -> int:
    """Nesting depth of `value` (a scalar is 0), counted without recursion.

    Stops counting past `limit` (returns ``limit + 1``), so a hostile value costs little.
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        depth += 1
        if depth > limit:
            return depth
        deepest = max(deepest, depth)
        stack.extend((child, depth) for child in children)
    return deepest


def check_depth(value: Any, *, limit: int = MAX_JSON_DEPTH) -> None:
    """Raises `TooDeep` when `value` nests deeper than `limit`."""
    if json_depth(value, limit=limit) > limit:
        raise TooDeep(limit)


def check_cursor(raw: str | None) -> str | None:
    """`raw` when it can be a cursor (URL-safe base64, bounded); ValueError otherwise."""
    if raw is None or raw == "":
        return None
    if len(raw) > MAX_CURSOR_CHARS or not _CURSOR.fullmatch(raw):
        raise ValueError("is not a cursor this API issued")
    return raw
