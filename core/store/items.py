"""DynamoDB attribute values for the store's records: flat items, user JSON as text.

Numbers go as N (repr, so floats round-trip), JSON fields (errors, properties, log fields,
run ids) as one S of JSON, everything else as S; an absent attribute is a None field.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from ..types import RunStatus, TaskStatus
from .base import LogRecord, RunRecord, TaskRecord

JSON_FIELDS = frozenset({"error", "properties", "fields", "run_ids", "usage"})
INT_FIELDS = frozenset(
    {
        "invocation_count",
        "lost_leases",
        "progress_mark",
        "attempts",
        "slot",
        "attempt_base",
        "idle_yields",
        "retries",
    }
)
RUN_FIELDS = [f.name for f in fields(RunRecord)]
TASK_FIELDS = [f.name for f in fields(TaskRecord)]
LOG_FIELDS = [f.name for f in fields(LogRecord)]


def encode(value: Any, name: str) -> dict[str, Any]:
    """One field's attribute value."""
    if name in JSON_FIELDS:
        return {"S": json.dumps(list(value) if isinstance(value, tuple) else value)}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": repr(value)}
    return {"S": str(value.value if isinstance(value, RunStatus | TaskStatus) else value)}


def decode(attribute: dict[str, Any], name: str) -> Any:
    """One attribute value back to the field's Python value."""
    if "NULL" in attribute:
        return None
    if "BOOL" in attribute:
        return attribute["BOOL"]
    if "N" in attribute:
        return int(attribute["N"]) if name in INT_FIELDS else float(attribute["N"])
    text = attribute["S"]
    if name in JSON_FIELDS:
        value = json.loads(text)
        return tuple(value) if name == "run_ids" else value
    return text


def item_attributes(record: Any, names: list[str]) -> dict[str, Any]:
    """The attributes of a record's set fields."""
    return {n: encode(getattr(record, n), n) for n in names if getattr(record, n) is not None}


def field_values(item: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """The fields present in an item, decoded."""
    return {n: decode(item[n], n) for n in names if n in item}
