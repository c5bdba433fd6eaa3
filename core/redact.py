"""`io.run_task(..., redact={"paths": [...]})`: parts of a task's output never stored.

The run gets the whole output in the invocation that ran the task; the stored output has
each path's value replaced by "[REDACTED]", so the API, the dashboard, logs, SSE and
traces (which all read the store) never see it. A replay returns the stored output, so a
later invocation sees "[REDACTED]" too (v2 stored the whole output and redacted it only
for display: docs/reference.md says why we differ).

A path is dot-separated: keys of objects, indexes of arrays, "*" for every key or index
("data.object.card", "items.*.token"). Absent paths are ignored. A pydantic model's
output is seen through its fields (the "$model" tag of core/serdes.py is transparent).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .errors import ConfigError

REDACTED = "[REDACTED]"
MAX_REDACT_PATHS = 100


class Redaction:
    """A validated `redact=` option: the paths to hide in a task's stored output."""

    __slots__ = ("paths",)

    def __init__(self, paths: tuple[tuple[str, ...], ...]) -> None:
        self.paths = paths

    @classmethod
    def parse(cls, redact: object, *, where: str) -> Redaction | None:
        """`redact` checked: None, or a mapping with "paths", a list of dotted str paths."""
        if redact is None:
            return None
        paths = redact.get("paths") if isinstance(redact, Mapping) else None
        if (
            not isinstance(redact, Mapping) or set(redact) - {"paths"}
            or not isinstance(paths, list | tuple)
            or not all(isinstance(p, str) and p and "" not in p.split(".") for p in paths)
        ):
            raise ConfigError(f'{where}: redact must be {{"paths": ["a.b", ...]}} (non-empty '
                              f"dot-separated paths), got {redact!r}")  # fmt: skip
        if len(paths) > MAX_REDACT_PATHS:
            raise ConfigError(f"{where}: redact takes at most {MAX_REDACT_PATHS} paths, "
                              f"got {len(paths)}")  # fmt: skip
        return cls(tuple(tuple(p.split(".")) for p in paths))

    def apply(self, output_json: str, *, key: str) -> str:
        """`output_json` (JSON text) with every path's value replaced by "[REDACTED]"."""
        try:
            data = json.loads(output_json)
        except ValueError:
            from .errors import OutputError

            raise OutputError(key, "redact needs JSON output; this task's serdes wrote other "
                                   "text") from None  # fmt: skip
        for path in self.paths:
            data = _redact(data, path)
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def _redact(data: Any, path: tuple[str, ...]) -> Any:
    """`data` with `path` redacted (a new container where something changed)."""
    if not path:
        return REDACTED
    if isinstance(data, dict) and len(data) == 1 and "$model" in data:
        model = data["$model"]
        if isinstance(model, dict) and "data" in model:
            return {"$model": {**model, "data": _redact(model["data"], path)}}
    head, rest = path[0], path[1:]
    if isinstance(data, dict):
        keys = list(data) if head == "*" else [head] if head in data else []
        if not keys:
            return data
        return {**data, **{k: _redact(data[k], rest) for k in keys}}
    if isinstance(data, list):
        if head == "*":
            return [_redact(v, rest) for v in data]
        if head.isdigit() and int(head) < len(data):
            copy = list(data)
            copy[int(head)] = _redact(copy[int(head)], rest)
            return copy
    return data
