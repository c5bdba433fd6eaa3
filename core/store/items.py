"""DynamoDB attribute values for the store's records: flat items, user JSON as text.

Numbers go as N (repr, so floats round-trip), JSON fields (errors, properties, log fields,
run ids) as one S of JSON, everything else as S; an absent attribute is a None field.
`same_fields` compares an item read back with the one a write sent (store/dynamodb.py).
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from ..types import FINAL_RUN_STATUSES, RunStatus, TaskStatus
from .base import LogRecord, RunRecord, TaskRecord

JSON_FIELDS = frozenset({"error", "properties", "fields", "run_ids", "usage", "overrun"})
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
        "timeouts",
        "crashes",
        "priority",
    }
)
RUN_FIELDS = [f.name for f in fields(RunRecord)]
TASK_FIELDS = [f.name for f in fields(TaskRecord)]
LOG_FIELDS = [f.name for f in fields(LogRecord)]
EVENT_FIELDS = ["id", "name", "timestamp", "payload_json", "run_ids", "status", "deliver_at",
                "sent_at", "priority", "context_json"]
WAIT_FIELDS = ["name", "run_id", "task_id", "key", "created_at", "parent_id", "filter_json"]
CALLBACK_FIELDS = ["token_hash", "run_id", "task_id", "key", "created_at", "heartbeat_seconds"]


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


def encoded(values: dict[str, Any]) -> dict[str, Any]:
    """Field values as attribute values (None: absent)."""
    return {name: encode(value, name) for name, value in values.items() if value is not None}


def same_fields(found: dict[str, Any], ours: dict[str, Any], names: list[str]) -> bool:
    """True when `found` holds exactly our value (or absence) for every one of `names`.

    Compared decoded, since DynamoDB normalizes numbers ("1.0" comes back as "1").
    """
    for name in names:
        if (name in found) != (name in ours):
            return False
        if name in found and decode(found[name], name) != decode(ours[name], name):
            return False
    return True


def final_values() -> dict[str, Any]:
    """The values :f0 to :f5 that a condition on a final run status reads."""
    return {f":f{i}": {"S": s.value} for i, s in enumerate(sorted(FINAL_RUN_STATUSES))}
