"""`DynamoDBFleet`: paused jobs and stored schedules on DynamoDB (store/fleet.py).

    PK                 SK                what
    JOB#<job>          PAUSED            present while the job is paused (`paused_at`)
    SCHEDULES#<n>      SCHEDULE#<id>     a schedule made at run time (`data`: its JSON);
                                         n is the schedule id's shard, so schedules spread
                                         over `shards` partitions and a listing reads each

A pause item is written twice per pause (set, delete) and read at most once per
PAUSE_CACHE_SECONDS per job per process (core/job_pause.py); a schedule item is written
when made, paused or deleted, and every schedule is read by each tick (docs/scale.md).
"""

from __future__ import annotations

from typing import Any

from ..errors import StoreError
from .dynamodb_table import DynamoDBTable, describe_error, error_code
from .fleet import ScheduleRecord, load_schedule, schedule_json


class DynamoDBFleet(DynamoDBTable):
    """The pause items of jobs and the schedule items, each write conditional."""

    def _pause_key(self, job_id: str) -> dict[str, Any]:
        return {"PK": {"S": f"JOB#{job_id}"}, "SK": {"S": "PAUSED"}}

    def _schedule_key(self, schedule_id: str) -> dict[str, Any]:
        return {"PK": {"S": f"SCHEDULES#{self.shard(schedule_id)}"},
                "SK": {"S": f"SCHEDULE#{schedule_id}"}}  # fmt: skip

    def set_job_paused(self, job_id: str, *, paused: bool, now: float) -> bool:
        if paused:
            item = {**self._pause_key(job_id), "paused_at": {"N": repr(now)}}
            return self._put(
                item, "attribute_not_exists(PK)", "set_job_paused",
                is_ours=lambda found: found.get("paused_at") == item["paused_at"],
            )  # fmt: skip
        return self._delete(self._pause_key(job_id), "set_job_paused")

    def get_job_paused_at(self, job_id: str) -> float | None:
        item = self._get(self._pause_key(job_id))
        return None if item is None else float(item["paused_at"]["N"])

    def put_schedule(self, schedule: ScheduleRecord, *, expected_version: int | None) -> bool:
        text = schedule_json(schedule)
        item = {
            **self._schedule_key(schedule.id),
            "job_id": {"S": schedule.job_id},
            "version": {"N": str(schedule.version)},
            "data": {"S": text},
        }
        condition, values = "attribute_not_exists(PK)", None
        if expected_version is not None:
            condition, values = "version = :version", {":version": {"N": str(expected_version)}}
        return self._put(
            item, condition, "put_schedule", values=values,
            is_ours=lambda found: found.get("data", {}).get("S") == text,
        )  # fmt: skip

    def get_schedule(self, schedule_id: str) -> ScheduleRecord | None:
        item = self._get(self._schedule_key(schedule_id))
        return None if item is None else load_schedule(item["data"]["S"])

    def list_schedules(self) -> list[ScheduleRecord]:
        def shard_schedules(shard: int) -> list[ScheduleRecord]:
            request: dict[str, Any] = {
                "TableName": self.table_name,
                "KeyConditionExpression": "PK = :pk",
                "ExpressionAttributeValues": {":pk": {"S": f"SCHEDULES#{shard}"}},
            }
            found: list[ScheduleRecord] = []
            while True:
                page = self._call("list_schedules", self._db.query, **request)
                found += [load_schedule(item["data"]["S"]) for item in page.get("Items", [])]
                if "LastEvaluatedKey" not in page:
                    return found
                request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

        every = [s for found in self._each(shard_schedules, range(self.shards)) for s in found]
        return sorted(every, key=lambda schedule: schedule.id)

    def delete_schedule(self, schedule_id: str) -> bool:
        return self._delete(self._schedule_key(schedule_id), "delete_schedule")

    def _delete(self, key: dict[str, Any], operation: str) -> bool:
        """Deletes an item if present: True when it was (a retried delete may answer False)."""
        try:
            self._db.delete_item(TableName=self.table_name, Key=key,
                                 ConditionExpression="attribute_exists(PK)")  # fmt: skip
        except self._errors as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise StoreError(f"{operation} on {self.table_name}: {describe_error(exc)}") from exc
        return True
