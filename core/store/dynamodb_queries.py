"""`DynamoDBQueries`: the store's reads of many items, and the purge that follows one.

A run's history is one paginated Query of its partition. Listings and the due queries read
every shard of an index (`shards` partitions, see store/dynamodb.py) at once and merge them:
`list_runs` newest first by one cursor for all shards, the due index soonest first.
"""

from __future__ import annotations

import re
import time
from typing import Any

from ..errors import StoreError
from ..types import RunStatus
from .base import (
    EventWaitRecord,
    History,
    LogRecord,
    RunRecord,
    decode_cursor,
    encode_cursor,
)
from .dynamodb_table import BATCH_WRITE_SIZE, DynamoDBTable, describe_error, error_code
from .items import LOG_FIELDS, WAIT_FIELDS, field_values

_CURSOR_SORT_KEY = re.compile(r"\d{17}#[^\x00-\x1f]{1,256}")


class DynamoDBQueries(DynamoDBTable):
    """A run's history, listings merged across shards, the due index, the purge."""

    def load_history(self, run_id: str) -> History:
        history = History()
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"RUN#{run_id}"}},
            "ConsistentRead": True,
        }
        while True:
            page = self._call("load_history", self._db.query, **request)
            history.pages += 1
            for item in page.get("Items", []):
                sk = item["SK"]["S"]
                if sk.startswith("TASK#"):
                    task = self._task(item)
                    history.tasks[task.id] = task
                elif sk.startswith("LOG#"):
                    log = LogRecord(**field_values(item, LOG_FIELDS))
                    history.logs[log.key] = log
            if "LastEvaluatedKey" not in page:
                return history
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def list_event_waits(self, name: str) -> list[EventWaitRecord]:
        def shard_waits(shard: int) -> list[EventWaitRecord]:
            request: dict[str, Any] = {
                "TableName": self.table_name,
                "KeyConditionExpression": "PK = :pk",
                "ExpressionAttributeValues": {":pk": {"S": f"EVENTWAIT#{name}#{shard}"}},
                "ConsistentRead": True,
            }
            waits: list[EventWaitRecord] = []
            while True:
                page = self._call("list_event_waits", self._db.query, **request)
                for item in page.get("Items", []):
                    values = field_values(item, WAIT_FIELDS)
                    if values.get("name") != name:
                        continue
                    if "wait_expires_at" in item:
                        values["expires_at"] = float(item["wait_expires_at"]["N"])
                    waits.append(EventWaitRecord(**values))
                if "LastEvaluatedKey" not in page:
                    return waits
                request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

        return [w for waits in self._each(shard_waits, range(self.shards)) for w in waits]

    def list_runs(
        self,
        *,
        job_id: str | None,
        status: RunStatus | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[RunRecord], str | None]:
        """Newest first, merged across the shards of the time (or job) index.

        The cursor is the sort key of the last run listed: every shard sorts by the same
        unique key (creation time, then id), so one position pages every shard at once;
        no run is listed twice, and runs created after the first page never shift later ones.
        """
        index, pk_name, sort_name = (
            ("runs_by_job", "GSI1PK", "GSI1SK")
            if job_id is not None
            else ("runs_by_time", "GSI2PK", "GSI2SK")
        )
        before = None if cursor is None else _cursor_sort_key(cursor)
        per_page = limit + 1 if status is None else max(limit + 1, 100)

        def request(shard: int) -> dict[str, Any]:
            pk = f"JOB#{job_id}#{shard}" if job_id is not None else f"RUNS#{shard}"
            values: dict[str, Any] = {":pk": {"S": pk}}
            condition = f"{pk_name} = :pk"
            if before is not None:
                condition += f" AND {sort_name} < :before"
                values[":before"] = {"S": before}
            made: dict[str, Any] = {
                "TableName": self.table_name,
                "IndexName": index,
                "KeyConditionExpression": condition,
                "ExpressionAttributeValues": values,
                "ScanIndexForward": False,
                "Limit": per_page,
            }
            if status is not None:
                made["FilterExpression"] = "#status = :status"
                made["ExpressionAttributeNames"] = {"#status": "status"}
                values[":status"] = {"S": status.value}
            return made

        streams = [_ShardStream(request(shard)) for shard in range(self.shards)]

        def fill(stream: _ShardStream) -> None:
            while stream.is_open and not stream.items:
                page = self._call("list_runs", self._db.query, **stream.request)
                stream.take(page)

        chosen: list[dict[str, Any]] = []
        self._each(fill, streams)
        while len(chosen) <= limit:
            heads = [s for s in streams if s.items]
            if not heads:
                break
            newest = max(heads, key=lambda s: s.items[0][sort_name]["S"])
            chosen.append(newest.items.pop(0))
            fill(newest)
        runs = [self._run(item) for item in chosen[:limit]]
        next_cursor = None
        if len(chosen) > limit:
            next_cursor = encode_cursor({"before": chosen[limit - 1][sort_name]["S"]})
        return runs, next_cursor

    def list_due_runs(self, *, now: float, limit: int) -> list[str]:
        """The `limit` runs due soonest at `now`, from every shard of the due index."""
        found = self._soonest_due("list_due_runs", "DUE", now=now, limit=limit)
        return [item["PK"]["S"].removeprefix("RUN#") for item in found]

    def list_due_events(self, *, now: float, limit: int) -> list[str]:
        """Delayed events due at `now`, from every shard of their due partitions."""
        found = self._soonest_due("list_due_events", "EVENTDUE", now=now, limit=limit)
        return [item["PK"]["S"].removeprefix("EVENT#") for item in found]

    def list_queued_runs(self, job_id: str, *, limit: int) -> list[str]:
        """Oldest first, merged across the job's shards of the due index (see update_run)."""
        found = self._soonest_due("list_queued_runs", f"JOB#{job_id}", now=None, limit=limit)
        return [item["PK"]["S"].removeprefix("RUN#") for item in found]

    def _soonest_due(
        self, operation: str, prefix: str, *, now: float | None, limit: int
    ) -> list[dict[str, Any]]:
        """Items of the due index under `prefix#<shard>` (sort key at most `now`, when
        given), queried on every shard and merged soonest first; at most `limit`."""
        condition = "GSI3PK = :k" if now is None else "GSI3PK = :k AND GSI3SK <= :now"

        def one(shard: int) -> list[dict[str, Any]]:
            values: dict[str, Any] = {":k": {"S": f"{prefix}#{shard}"}}
            if now is not None:
                values[":now"] = {"N": repr(now)}
            page = self._call(
                operation, self._db.query, TableName=self.table_name, IndexName="runs_due",
                KeyConditionExpression=condition, ExpressionAttributeValues=values, Limit=limit,
            )  # fmt: skip
            items: list[dict[str, Any]] = page.get("Items", [])
            return items

        found = [item for items in self._each(one, range(self.shards)) for item in items]
        found.sort(key=lambda item: (float(item["GSI3SK"]["N"]), item["PK"]["S"]))
        return found[:limit]

    def purge_expired_runs(self, *, now: float, limit: int) -> list[str]:
        """Finished runs past `expires_at` (the EXPIRES# keys of the due index): their
        blobs, tasks and logs, then the run item (conditional: still expired)."""

        found = self._soonest_due("purge_expired_runs", "EXPIRES", now=now, limit=limit)
        purged = []
        for item in found:
            run_id = item["PK"]["S"].removeprefix("RUN#")
            if self._purge_run(run_id, now):
                purged.append(run_id)
        return purged

    def _purge_run(self, run_id: str, now: float) -> bool:
        run = self.get_run(run_id)  # a stale index entry of a run made live again is skipped
        if run is None or not run.status.is_final or run.expires_at is None or run.expires_at > now:
            return False
        request: dict[str, Any] = {
            "TableName": self.table_name, "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"RUN#{run_id}"}},
            "ProjectionExpression": "PK, SK, output_ref",
        }  # fmt: skip
        keys: list[dict[str, Any]] = []
        while True:
            page = self._call("purge_expired_runs", self._db.query, **request)
            for found in page.get("Items", []):
                if "output_ref" in found and self._blobs is not None:
                    self._blobs.delete(found["output_ref"]["S"])
                if found["SK"]["S"] != "RUN":
                    keys.append({"PK": found["PK"], "SK": found["SK"]})
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        for start in range(0, len(keys), BATCH_WRITE_SIZE):
            pending: dict[str, Any] = {self.table_name: [
                {"DeleteRequest": {"Key": key}} for key in keys[start : start + BATCH_WRITE_SIZE]
            ]}  # fmt: skip
            for attempt in range(8):
                answer = self._call("purge_expired_runs", self._db.batch_write_item,
                                    RequestItems=pending)  # fmt: skip
                pending = answer.get("UnprocessedItems") or {}
                if not pending:
                    break
                time.sleep(min(1.0, 0.05 * 2**attempt))
        try:
            self._db.delete_item(
                TableName=self.table_name, Key={"PK": {"S": f"RUN#{run_id}"}, "SK": {"S": "RUN"}},
                ConditionExpression="expires_at <= :now",
                ExpressionAttributeValues={":now": {"N": repr(now)}},
            )  # fmt: skip
        except self._errors as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise StoreError(f"purge_expired_runs: {describe_error(exc)}") from exc
        return True


class _ShardStream:
    """One shard's query in a merged listing: the items read and not yet taken."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.request = request
        self.items: list[dict[str, Any]] = []
        self.is_open = True

    def take(self, page: dict[str, Any]) -> None:
        self.items.extend(page.get("Items", []))
        if "LastEvaluatedKey" in page:
            self.request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        else:
            self.is_open = False


def _cursor_sort_key(cursor: str) -> str:
    """The sort key a `list_runs` cursor carries; a crafted cursor is a ValueError."""
    before = decode_cursor(cursor, fields={"before": str})["before"]
    if not _CURSOR_SORT_KEY.fullmatch(before):
        raise ValueError(f"cursor is not one this store issued: {cursor[:100]!r}")
    return str(before)
