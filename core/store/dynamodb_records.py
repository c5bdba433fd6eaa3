"""`DynamoDBRecordWrites`: every item but the run's, each its own conditional write.

A run's tasks (put, retried) and logs (batched) beside it in its partition; events, with a
delayed one in the due index; event waits, found by event name and sharded by run; request
callbacks; claimed schedule slots; a job's concurrency slots; flow state (FLOW#<name>, one
partition per name: a rate window, debounce or batch of one job and key). Items that outlive their use
carry `expires_at` for DynamoDB's time to live (see store/dynamodb.py for the layout).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import replace
from typing import Any

from ..errors import StoreError
from ..types import TaskStatus
from .base import (
    CallbackRecord,
    EventRecord,
    EventWaitRecord,
    FlowRecord,
    LogRecord,
    TaskRecord,
)
from .dynamodb_table import BATCH_WRITE_SIZE, DynamoDBTable, describe_error, error_code, was_retried
from .items import (
    CALLBACK_FIELDS,
    EVENT_FIELDS,
    LOG_FIELDS,
    TASK_FIELDS,
    WAIT_FIELDS,
    encode,
    encoded,
    field_values,
    item_attributes,
    same_fields,
)

EVENT_TTL_SECONDS = 30 * 24 * 3600
"""How long an event id stays known (the window in which `send_event` is idempotent)."""
CALLBACK_TTL_SECONDS = 30 * 24 * 3600
"""How long after its timeout a callback item stays (later POSTs answer 409, not 404)."""
EVENT_WAIT_TTL_SECONDS = 400 * 24 * 3600
"""An event wait left behind (its run canceled) expires this long after it was made."""
_FINAL_TASK = (TaskStatus.COMPLETED, TaskStatus.ERRORED, TaskStatus.CANCELED)


class DynamoDBRecordWrites(DynamoDBTable):
    """Tasks, logs, events, event waits, callbacks and slots."""

    def put_task(self, task: TaskRecord) -> bool:
        item = item_attributes(task, TASK_FIELDS)
        item.update(self._output_attributes(task.output_json, task.run_id, task.id, task.key))
        item.update(PK={"S": f"RUN#{task.run_id}"}, SK={"S": f"TASK#{task.id}"})
        condition = (
            "attribute_not_exists(PK) OR"
            " (NOT #status IN (:t0, :t1, :t2) AND attempts <= :attempts)"
        )
        values = {f":t{i}": {"S": s.value} for i, s in enumerate(_FINAL_TASK)}
        values[":attempts"] = {"N": str(task.attempts)}
        if self._put(
            item, condition, "put_task", values=values, names={"#status": "status"},
            is_ours=lambda found: same_fields(found, item, [*TASK_FIELDS, "output_ref"]),
        ):  # fmt: skip
            return True
        self._drop_blob(item)
        return False

    def get_task(self, run_id: str, task_id: str) -> TaskRecord | None:
        item = self._get({"PK": {"S": f"RUN#{run_id}"}, "SK": {"S": f"TASK#{task_id}"}})
        return None if item is None else self._task(item)

    def retry_task(self, task: TaskRecord, *, failed_attempts: int) -> bool:
        item = item_attributes(task, TASK_FIELDS)
        item.update(PK={"S": f"RUN#{task.run_id}"}, SK={"S": f"TASK#{task.id}"})
        values = {":errored": {"S": TaskStatus.ERRORED.value},
                  ":attempts": {"N": str(failed_attempts)}}  # fmt: skip
        return self._put(
            item, "#status = :errored AND attempts = :attempts", "retry_task", values=values,
            names={"#status": "status"},
            is_ours=lambda found: same_fields(found, item, TASK_FIELDS),
        )  # fmt: skip

    def put_logs(self, logs: list[LogRecord]) -> None:
        items = []
        for log in logs:
            item = item_attributes(log, LOG_FIELDS)
            item.update(PK={"S": f"RUN#{log.run_id}"}, SK={"S": f"LOG#{log.key}"})
            items.append(item)
        self._batch_put(items)

    def _batch_put(self, items: list[dict[str, Any]]) -> None:
        for start in range(0, len(items), BATCH_WRITE_SIZE):
            pending: dict[str, Any] = {
                self.table_name: [
                    {"PutRequest": {"Item": item}}
                    for item in items[start : start + BATCH_WRITE_SIZE]
                ]
            }
            for attempt in range(8):
                answer = self._call("put_logs", self._db.batch_write_item, RequestItems=pending)
                pending = answer.get("UnprocessedItems") or {}
                if not pending:
                    break
                time.sleep(min(1.0, 0.05 * 2**attempt))
            if pending:
                raise StoreError("put_logs: DynamoDB left items unprocessed after 8 attempts")

    def _event_due_key(self, event_id: str) -> dict[str, str]:
        return {"S": f"EVENTDUE#{self.shard(event_id)}"}

    def create_event(self, event: EventRecord) -> bool:
        item = item_attributes(event, EVENT_FIELDS)
        item.update(
            PK={"S": f"EVENT#{event.id}"},
            SK={"S": "EVENT"},
            expires_at={"N": str(int(max(event.timestamp, event.deliver_at or 0.0)
                                     + EVENT_TTL_SECONDS))},
        )  # fmt: skip
        if event.is_due_indexed:
            item.update(GSI3PK=self._event_due_key(event.id),
                        GSI3SK={"N": repr(event.deliver_at)})  # fmt: skip
        return self._put(
            item, "attribute_not_exists(PK)", "create_event",
            is_ours=lambda found: same_fields(found, item, EVENT_FIELDS),
        )  # fmt: skip

    def get_event(self, event_id: str) -> EventRecord | None:
        item = self._get({"PK": {"S": f"EVENT#{event_id}"}, "SK": {"S": "EVENT"}})
        if item is None:
            return None
        return EventRecord(**field_values(item, EVENT_FIELDS))

    def update_event(self, event_id: str, *, expected_status: str, changes: dict[str, Any]) -> bool:
        unknown = set(changes) - {"status", "run_ids", "deliver_at", "sent_at"}
        if unknown:
            raise ValueError(f"unknown event fields: {sorted(unknown)}")
        current = self.get_event(event_id)
        if current is None or current.status != expected_status:
            return False
        changed = replace(current, **{**changes, **(
            {"run_ids": tuple(changes["run_ids"])} if "run_ids" in changes else {})})
        sets: list[str] = []
        removes: list[str] = []
        names = {"#status": "status"}
        values: dict[str, Any] = {":expected": {"S": expected_status}}
        for name, value in changes.items():
            names[f"#{name}"] = name
            if value is None:
                removes.append(f"#{name}")
            else:
                sets.append(f"#{name} = :{name}")
                values[f":{name}"] = encode(value, name)
        if changed.is_due_indexed:
            sets.extend(["GSI3PK = :due", "GSI3SK = :due_at"])
            values.update({":due": self._event_due_key(event_id),
                           ":due_at": {"N": repr(changed.deliver_at)}})  # fmt: skip
        else:
            removes.extend(["GSI3PK", "GSI3SK"])
        expression = ("SET " + ", ".join(sets) if sets else "") + (
            " REMOVE " + ", ".join(removes) if removes else "")
        key = {"PK": {"S": f"EVENT#{event_id}"}, "SK": {"S": "EVENT"}}
        try:
            self._db.update_item(
                TableName=self.table_name, Key=key, UpdateExpression=expression.strip(),
                ConditionExpression="#status = :expected", ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )  # fmt: skip
        except self._errors as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return was_retried(exc) and self._is_own_write(
                    key, lambda found: same_fields(found, encoded(changes), list(changes)),
                    "update_event",
                ) is not None  # fmt: skip
            raise StoreError(f"update_event on {self.table_name}: {describe_error(exc)}") from exc
        return True

    def _wait_key(self, name: str, run_id: str, task_id: str) -> dict[str, Any]:
        return {"PK": {"S": f"EVENTWAIT#{name}#{self.shard(run_id)}"},
                "SK": {"S": f"WAIT#{run_id}#{task_id}"}}  # fmt: skip

    def put_event_wait(self, wait: EventWaitRecord) -> bool:
        item = item_attributes(wait, WAIT_FIELDS)
        if wait.expires_at is not None:
            item["wait_expires_at"] = {"N": repr(wait.expires_at)}
        ttl = (wait.expires_at or wait.created_at) + EVENT_WAIT_TTL_SECONDS
        item.update(self._wait_key(wait.name, wait.run_id, wait.task_id),
                    expires_at={"N": str(int(ttl))})  # fmt: skip
        return self._put(
            item, "attribute_not_exists(PK)", "put_event_wait",
            is_ours=lambda found: same_fields(found, item, WAIT_FIELDS),
        )  # fmt: skip

    def delete_event_wait(self, name: str, run_id: str, task_id: str) -> None:
        self._call("delete_event_wait", self._db.delete_item, TableName=self.table_name,
                   Key=self._wait_key(name, run_id, task_id))  # fmt: skip

    def create_callback(self, callback: CallbackRecord) -> bool:
        item = item_attributes(callback, CALLBACK_FIELDS)
        if callback.expires_at is not None:
            item["wait_expires_at"] = {"N": repr(callback.expires_at)}
        ttl = (callback.expires_at or callback.created_at) + CALLBACK_TTL_SECONDS
        item.update(PK={"S": f"CALLBACK#{callback.token_hash}"}, SK={"S": "CALLBACK"},
                    expires_at={"N": str(int(ttl))})  # fmt: skip
        return self._put(
            item, "attribute_not_exists(PK)", "create_callback",
            is_ours=lambda found: same_fields(found, item, CALLBACK_FIELDS),
        )  # fmt: skip

    def get_callback(self, token_hash: str) -> CallbackRecord | None:
        item = self._get({"PK": {"S": f"CALLBACK#{token_hash}"}, "SK": {"S": "CALLBACK"}})
        if item is None:
            return None
        values = field_values(item, CALLBACK_FIELDS)
        if "wait_expires_at" in item:
            values["expires_at"] = float(item["wait_expires_at"]["N"])
        return CallbackRecord(**values)

    def claim_slot(self, schedule_id: str, slot: str, *, expires_at: float) -> bool:
        item = {
            "PK": {"S": f"SCHEDULE#{schedule_id}"},
            "SK": {"S": f"SLOT#{slot}"},
            "expires_at": {"N": str(int(expires_at))},
            "claim": {"S": uuid.uuid4().hex},
        }
        return self._put(
            item, "attribute_not_exists(PK)", "claim_slot",
            is_ours=lambda found: found.get("claim") == item["claim"],
        )  # fmt: skip

    def claim_concurrency_slot(
        self, job_id: str, slot: int, run_id: str, *, previous_holder: str | None
    ) -> bool:
        item = {
            "PK": {"S": f"JOB#{job_id}"},
            "SK": {"S": f"CONCURRENCY#{slot}"},
            "holder": {"S": run_id},
        }
        if previous_holder is None:
            condition, values = "attribute_not_exists(PK) OR holder = :holder", run_id
        else:
            condition, values = "holder = :holder", previous_holder
        return self._put(
            item, condition, "claim_concurrency_slot", values={":holder": {"S": values}},
            is_ours=lambda found: found.get("holder", {}).get("S") == run_id,
        )  # fmt: skip

    def get_flow(self, name: str) -> FlowRecord | None:
        item = self._get({"PK": {"S": f"FLOW#{name}"}, "SK": {"S": "FLOW"}})
        if item is None:
            return None
        expires = item.get("expires_at")
        return FlowRecord(name=name, version=int(item["version"]["N"]),
                          data=json.loads(item["data"]["S"]), writer=item["writer"]["S"],
                          expires_at=None if expires is None else float(expires["N"]))  # fmt: skip

    def put_flow(self, flow: FlowRecord, *, expected_version: int | None) -> bool:
        item = {
            "PK": {"S": f"FLOW#{flow.name}"}, "SK": {"S": "FLOW"},
            "version": {"N": str(flow.version)}, "writer": {"S": flow.writer},
            "data": {"S": json.dumps(flow.data, separators=(",", ":"))},
        }  # fmt: skip
        if flow.expires_at is not None:
            item["expires_at"] = {"N": str(int(flow.expires_at))}
        if expected_version is None:
            condition, values = "attribute_not_exists(PK)", None
        else:
            condition, values = "version = :v", {":v": {"N": str(expected_version)}}
        return self._put(
            item, condition, "put_flow", values=values,
            is_ours=lambda found: found.get("writer", {}).get("S") == flow.writer,
        )  # fmt: skip

    def get_concurrency_holder(self, job_id: str, slot: int) -> str | None:
        item = self._get({"PK": {"S": f"JOB#{job_id}"}, "SK": {"S": f"CONCURRENCY#{slot}"}})
        return None if item is None else str(item["holder"]["S"])

    def release_concurrency_slot(self, job_id: str, slot: int, run_id: str) -> None:
        try:
            self._db.delete_item(
                TableName=self.table_name,
                Key={"PK": {"S": f"JOB#{job_id}"}, "SK": {"S": f"CONCURRENCY#{slot}"}},
                ConditionExpression="holder = :holder",
                ExpressionAttributeValues={":holder": {"S": run_id}},
            )
        except self._errors as exc:  # a lost answer retried finds the slot gone: released
            if error_code(exc) != "ConditionalCheckFailedException":
                raise StoreError(
                    f"release_concurrency_slot on {self.table_name}: {describe_error(exc)}"
                ) from exc
