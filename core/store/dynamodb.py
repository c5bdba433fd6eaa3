"""`DynamoDBStore`: the production store, one table (see table.json), single-item writes.

    PK            SK              what
    RUN#<id>      RUN             the run (GSI1: by job, GSI2: by time, GSI3: due, sparse;
                                  a QUEUED run's GSI3 key is its GSI1PK, sorted by creation)
    RUN#<id>      TASK#<task id>  a task or wait
    RUN#<id>      LOG#<key>       a log line
    EVENT#<id>    EVENT           an event (expires after EVENT_TTL_SECONDS)
    SCHEDULE#<job> SLOT#<slot>    a claimed cron/interval slot (expires)
    JOB#<job>     CONCURRENCY#<n> who holds concurrency slot n of a job
    EVENTWAIT#<name>#<n>  WAIT#<run>#<task>  an io.wait_for_event, found by event name
    CALLBACK#<sha256>     CALLBACK           an io.wait_for_request callback (expires)

A delayed event waits in the due index under GSI3PK `EVENTDUE#<n>` (n from its id), beside
the runs' `DUE#<n>` partitions; event waits are sharded by run id, so one hot event name
is spread over `shards` partitions too.

The index partition keys are sharded by a stable hash of the run id (`shards`, default
DEFAULT_SHARDS): GSI1PK `JOB#<job>#<n>`, GSI2PK `RUNS#<n>`, GSI3PK `DUE#<n>`, so no index
partition takes more than about 1/shards of the writes (docs/scale.md). Listings and the
due query read every shard and merge.

Only conditional PutItem/UpdateItem, GetItem, Query and BatchWriteItem are used, so the
protocol also runs on dynalite (no transactions). botocore is imported in `__init__` only.
Every botocore failure (ClientError and BotoCoreError: connection errors, timeouts, after
botocore's retries) is a StoreError. A conditional write that botocore retried and that
then failed its condition is read back: when the item shows our own write (the first try
applied, its answer was lost), it counts as written.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from ..aws import aws_client, require_botocore
from ..errors import OutputError, StoreError
from ..types import FINAL_RUN_STATUSES, RunStatus, TaskStatus
from ..usage import count_dynamodb_call, note_batch_items
from .base import (
    MAX_INLINE_OUTPUT_BYTES,
    MAX_PAYLOAD_ROOM_BYTES,
    CallbackRecord,
    EventRecord,
    EventWaitRecord,
    History,
    LogRecord,
    RunRecord,
    TaskRecord,
    decode_cursor,
    encode_cursor,
    load_table_definition,
    retried_run_changes,
    sort_key,
)
from .blobs import S3Blobs
from .items import (
    LOG_FIELDS,
    RUN_FIELDS,
    TASK_FIELDS,
    decode,
    encode,
    field_values,
    item_attributes,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_s3.client import S3Client

logger = logging.getLogger(__name__)

EVENT_TTL_SECONDS = 30 * 24 * 3600
"""How long an event id stays known (the window in which `send_event` is idempotent)."""
BATCH_WRITE_SIZE = 25
DEFAULT_SHARDS = 16
"""Index partitions per key (time, job, due): about 16 x 1,000 run writes/s (docs/scale.md)."""
MAX_SHARDS = 256
"""Every listing and sweep reads every shard, so the count stays bounded."""
SHARD_READ_THREADS = 8
"""Shards queried at once by listings and the due query."""
_CURSOR_SORT_KEY = re.compile(r"\d{17}#[^\x00-\x1f]{1,256}")
_FINAL_TASK = (TaskStatus.COMPLETED, TaskStatus.ERRORED, TaskStatus.CANCELED)
_EVENT_FIELDS = ["id", "name", "timestamp", "payload_json", "run_ids", "status", "deliver_at",
                 "sent_at"]
_WAIT_FIELDS = ["name", "run_id", "task_id", "key", "created_at", "parent_id", "filter_json"]
_CALLBACK_FIELDS = ["token_hash", "run_id", "task_id", "key", "created_at"]
CALLBACK_TTL_SECONDS = 30 * 24 * 3600
"""How long after its timeout a callback item stays (later POSTs answer 409, not 404)."""
EVENT_WAIT_TTL_SECONDS = 400 * 24 * 3600
"""An event wait left behind (its run canceled) expires this long after it was made."""
T = TypeVar("T")


_LEASE_UPDATE = (
    "SET #status = :executing, lease_owner = :owner, lease_expires_at = :exp,"
    " due_at = :exp, GSI3PK = :due, GSI3SK = :exp, updated_at = :now,"
    " invocation_count = if_not_exists(invocation_count, :zero) + :one,"
    " started_at = if_not_exists(started_at, :now)"
)
"""Taking a run's lease: EXECUTING, owned until :exp (also its due time), counted."""


class DynamoDBStore:
    """Runs, tasks and logs in one DynamoDB table; large outputs in S3 when `bucket` is set."""

    offload = True
    counts_requests = True
    """Requests are counted by botocore hooks (core/usage.py), not per primitive call."""

    def __init__(
        self,
        table_name: str,
        *,
        client: DynamoDBClient | None = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        bucket: str | None = None,
        s3_client: S3Client | None = None,
        shards: int = DEFAULT_SHARDS,
    ) -> None:
        if not table_name:
            raise ValueError("DynamoDBStore table_name must be a non-empty string")
        if isinstance(shards, bool) or not isinstance(shards, int) or not 1 <= shards <= MAX_SHARDS:
            raise ValueError(f"DynamoDBStore shards must be an integer from 1 to {MAX_SHARDS}, "
                             f"got {shards!r}")  # fmt: skip
        require_botocore("DynamoDBStore")
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError

        self._errors: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
        self.table_name = table_name
        self.shards = shards
        self._pool: ThreadPoolExecutor | None = None
        self.bucket = bucket
        self._endpoint_url = endpoint_url
        self._region = region
        config = Config(retries={"mode": "standard", "max_attempts": 5})
        self._db: DynamoDBClient = client or aws_client(
            "dynamodb", endpoint_url=endpoint_url, region=region, config=config
        )
        # Usage is counted from what botocore sends: pages, retried calls once, batch items.
        self._db.meta.events.register("before-parameter-build.dynamodb.BatchWriteItem", note_batch_items)
        self._db.meta.events.register("after-call.dynamodb", count_dynamodb_call)
        self._blobs = (
            S3Blobs(bucket, client=s3_client, endpoint_url=endpoint_url, region=region)
            if bucket
            else None
        )

    def __repr__(self) -> str:
        return f"DynamoDBStore({self.table_name!r}, bucket={self.bucket!r}, shards={self.shards})"

    def shard(self, run_id: str) -> int:
        """The index shard of a run: a stable hash (CRC-32) of its id, not Python's hash()."""
        return zlib.crc32(run_id.encode()) % self.shards

    def _due_key(self, run_id: str) -> dict[str, str]:
        return {"S": f"DUE#{self.shard(run_id)}"}

    # -- table --------------------------------------------------------------------------

    def create_table(self, *, wait_seconds: float = 60.0) -> bool:
        """Creates the table from the one definition; False when it already exists."""
        definition = load_table_definition()
        ttl = definition.pop("TimeToLiveSpecification", None)
        try:
            self._db.create_table(TableName=self.table_name, **definition)
        except self._errors as exc:
            if _code(exc) == "ResourceInUseException":
                return False
            raise StoreError(f"create_table {self.table_name}: {_describe(exc)}") from exc
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            described = self._call("describe_table", self._db.describe_table,
                                   TableName=self.table_name)  # fmt: skip
            if described["Table"]["TableStatus"] == "ACTIVE":
                break
            time.sleep(0.2)
        if ttl:
            try:
                self._db.update_time_to_live(TableName=self.table_name, TimeToLiveSpecification=ttl)
            except self._errors as exc:  # dynalite has no TTL; expiry is an optimization
                logger.debug("time to live not enabled on %s: %s", self.table_name, exc)
        return True

    # -- runs ---------------------------------------------------------------------------

    def _run_item(self, run: RunRecord) -> dict[str, Any]:
        item = item_attributes(run, RUN_FIELDS)
        item.update(self._output_attributes(run.output_json, run.id, "output", "run output"))
        key = sort_key(run.created_at, run.id)
        shard = self.shard(run.id)
        item.update(
            PK={"S": f"RUN#{run.id}"},
            SK={"S": "RUN"},
            GSI1PK={"S": f"JOB#{run.job_id}#{shard}"},
            GSI1SK={"S": key},
            GSI2PK={"S": f"RUNS#{shard}"},
            GSI2SK={"S": key},
        )
        if run.due_at is not None:
            item.update(GSI3PK=self._due_key(run.id), GSI3SK={"N": repr(run.due_at)})
        return item

    def _run(self, item: dict[str, Any]) -> RunRecord:
        values = field_values(item, RUN_FIELDS)
        values["status"] = RunStatus(values["status"])
        if "output_ref" in item:
            values["output_json"] = self._read_blob(item["output_ref"]["S"])
        return RunRecord(**values)

    def create_run(self, run: RunRecord) -> bool:
        item = self._run_item(run)
        return self._put(
            item, "attribute_not_exists(PK)", "create_run",
            is_ours=lambda found: _same_fields(found, item, RUN_FIELDS),
        )  # fmt: skip

    def get_run(self, run_id: str) -> RunRecord | None:
        item = self._get({"PK": {"S": f"RUN#{run_id}"}, "SK": {"S": "RUN"}})
        return None if item is None else self._run(item)

    def acquire_lease(
        self,
        run_id: str,
        *,
        owner: str,
        now: float,
        lease_expires_at: float,
        expired_owner: str | None,
    ) -> RunRecord | None:
        # The lease, as one conditional update on the run item:
        #
        #   invocation A  |--lease A------------------| deadline A + grace
        #   invocation B        (gets nothing, leaves)
        #   invocation C                                 |--lease C (A expired: lost_leases+1)
        is_live = "attribute_exists(PK) AND NOT #status IN (:f0, :f1, :f2, :f3, :f4, :f5)"
        is_free = "attribute_not_exists(lease_owner)"
        is_expired = "(lease_owner = :expired AND lease_expires_at < :now)"
        condition = f"{is_live} AND {is_free if expired_owner is None else is_expired}"
        values = self._lease_values(run_id, owner, now, lease_expires_at)
        update = _LEASE_UPDATE
        if expired_owner is not None:
            values[":expired"] = {"S": expired_owner}
            update += ", lost_leases = if_not_exists(lost_leases, :zero) + :one"
        item = self._update(
            run_id, update, condition, values, "acquire_lease",
            is_ours=lambda found: found.get("lease_owner", {}).get("S") == owner,
        )  # fmt: skip
        return None if item is None else self._run(item)

    def lease_run(
        self, run_id: str, *, owner: str, now: float, lease_expires_at: float
    ) -> RunRecord | None:
        # acquire_lease's update with a free lease, refused (like the engine's read would)
        # while the run waits for a later resume_at: one UpdateItem instead of GetItem first.
        condition = (
            "attribute_exists(PK) AND NOT #status IN (:f0, :f1, :f2, :f3, :f4, :f5)"
            " AND attribute_not_exists(lease_owner)"
            " AND NOT (#status = :waiting AND resume_at > :now)"
        )
        values = self._lease_values(run_id, owner, now, lease_expires_at)
        values[":waiting"] = {"S": RunStatus.WAITING.value}
        item = self._update(
            run_id, _LEASE_UPDATE, condition, values, "lease_run",
            is_ours=lambda found: found.get("lease_owner", {}).get("S") == owner,
        )  # fmt: skip
        return None if item is None else self._run(item)

    def _lease_values(
        self, run_id: str, owner: str, now: float, lease_expires_at: float
    ) -> dict[str, Any]:
        """The values `_LEASE_UPDATE` and the live-run condition read."""
        return {
            ":executing": {"S": RunStatus.EXECUTING.value},
            ":owner": {"S": owner},
            ":exp": {"N": repr(lease_expires_at)},
            ":now": {"N": repr(now)},
            ":zero": {"N": "0"},
            ":one": {"N": "1"},
            ":due": self._due_key(run_id),
            **_finalvalues(),
        }

    def update_run(self, run_id: str, *, owner: str, changes: dict[str, Any]) -> bool:
        sets: list[str] = []
        removes: list[str] = []
        uploaded: dict[str, Any] = {}
        values: dict[str, Any] = {":owner": {"S": owner}, **_finalvalues()}
        names = {"#status": "status"}
        for name, value in changes.items():
            if name not in RUN_FIELDS:
                raise ValueError(f"unknown run field {name!r}")
            if name == "output_json":
                room = MAX_INLINE_OUTPUT_BYTES if value is None else self._run_output_room(
                    run_id, value
                )
                stored = self._output_attributes(
                    value, run_id, "output", "run output", inline_limit=room
                )
                uploaded.update(stored)
                for attr in ("output_json", "output_ref"):
                    if attr in stored:
                        sets.append(f"{attr} = :{attr}")
                        values[f":{attr}"] = stored[attr]
                    else:
                        removes.append(attr)
                continue
            placeholder = f"#{name}"
            names[placeholder] = name
            if value is None:
                removes.append(placeholder)
            else:
                sets.append(f"{placeholder} = :{name}")
                values[f":{name}"] = encode(value, name)
            if name == "due_at":
                if value is None and changes.get("expires_at") is not None:
                    # A finished run with a retention: listed by expiry for the purge.
                    sets.extend(["GSI3PK = :expiring", "GSI3SK = :expires_key"])
                    values[":expiring"] = {"S": f"EXPIRES#{self.shard(run_id)}"}
                    values[":expires_key"] = {"N": repr(changes["expires_at"])}
                elif value is None:
                    removes.extend(["GSI3PK", "GSI3SK"])
                else:
                    sets.extend(["GSI3PK = :due", "GSI3SK = :due_at"])
                    values[":due"] = self._due_key(run_id)
        if changes.get("status") is RunStatus.QUEUED and changes.get("due_at", 0) is None:
            # Into the job's queue: the sparse due index keyed by the job's sharded key,
            # sorted by creation time (list_queued_runs), instead of the due partitions.
            removes = [r for r in removes if r not in ("GSI3PK", "GSI3SK")]
            sets.extend(["GSI3PK = GSI1PK", "GSI3SK = created_at"])
        expression = ""
        if sets:
            expression += "SET " + ", ".join(sets)
        if removes:
            expression += " REMOVE " + ", ".join(dict.fromkeys(removes))
        condition = "lease_owner = :owner AND NOT #status IN (:f0, :f1, :f2, :f3, :f4, :f5)"
        written = {**{k: v for k, v in changes.items() if k != "output_json"}}

        def is_ours(found: dict[str, Any]) -> bool:
            stored = {a: found[a] for a in ("output_json", "output_ref") if a in found}
            wanted = {a: uploaded[a] for a in ("output_json", "output_ref") if a in uploaded}
            return (
                found.get("lease_owner", {}).get("S") in (owner, None)
                and _same_fields(found, _encoded(written), list(written))
                and ("output_json" not in changes or stored == wanted)
            )

        item = self._update(
            run_id, expression, condition, values, "update_run", names=names, is_ours=is_ours
        )
        if item is None:
            self._drop_blob(uploaded)
        return item is not None

    def cancel_run(
        self, run_id: str, *, now: float, expires_at: float | None = None
    ) -> RunRecord | None:
        values = {":canceled": {"S": RunStatus.CANCELED.value}, ":now": {"N": repr(now)}}
        expiry = " REMOVE due_at, resume_at, GSI3PK, GSI3SK"
        if expires_at is not None:
            expiry = (", expires_at = :exp, GSI3PK = :expiring, GSI3SK = :exp"
                      " REMOVE due_at, resume_at")  # fmt: skip
            values.update({":exp": {"N": repr(expires_at)},
                           ":expiring": {"S": f"EXPIRES#{self.shard(run_id)}"}})  # fmt: skip
        item = self._update(
            run_id,
            "SET #status = :canceled, completed_at = :now, updated_at = :now" + expiry,
            "attribute_exists(PK) AND NOT #status IN (:f0, :f1, :f2, :f3, :f4, :f5)",
            {**values, **_finalvalues()},
            "cancel_run",
            is_ours=lambda found: _same_fields(
                found, _encoded({"status": RunStatus.CANCELED, "completed_at": now,
                                 "updated_at": now}), ["status", "completed_at", "updated_at"]
            ),
        )  # fmt: skip
        return None if item is None else self._run(item)

    # -- tasks and logs -----------------------------------------------------------------

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
            is_ours=lambda found: _same_fields(found, item, [*TASK_FIELDS, "output_ref"]),
        ):  # fmt: skip
            return True
        self._drop_blob(item)
        return False

    def _task(self, item: dict[str, Any]) -> TaskRecord:
        values = field_values(item, TASK_FIELDS)
        values["status"] = TaskStatus(values["status"])
        if "output_ref" in item:
            values["output_json"] = self._read_blob(item["output_ref"]["S"])
        return TaskRecord(**values)

    def get_task(self, run_id: str, task_id: str) -> TaskRecord | None:
        item = self._get({"PK": {"S": f"RUN#{run_id}"}, "SK": {"S": f"TASK#{task_id}"}})
        return None if item is None else self._task(item)

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

    # -- events, listings, schedules ----------------------------------------------------

    def create_event(self, event: EventRecord) -> bool:
        item = item_attributes(event, _EVENT_FIELDS)
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
            is_ours=lambda found: _same_fields(found, item, _EVENT_FIELDS),
        )  # fmt: skip

    def get_event(self, event_id: str) -> EventRecord | None:
        item = self._get({"PK": {"S": f"EVENT#{event_id}"}, "SK": {"S": "EVENT"}})
        if item is None:
            return None
        return EventRecord(**field_values(item, _EVENT_FIELDS))

    def _event_due_key(self, event_id: str) -> dict[str, str]:
        return {"S": f"EVENTDUE#{self.shard(event_id)}"}

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
            if _code(exc) == "ConditionalCheckFailedException":
                return _was_retried(exc) and self._is_own_write(
                    key, lambda found: _same_fields(found, _encoded(changes), list(changes)),
                    "update_event",
                ) is not None  # fmt: skip
            raise StoreError(f"update_event on {self.table_name}: {_describe(exc)}") from exc
        return True

    def list_due_events(self, *, now: float, limit: int) -> list[str]:
        """Delayed events due at `now`, from every shard of their due partitions."""
        found = self._soonest_due("list_due_events", "EVENTDUE", now=now, limit=limit)
        return [item["PK"]["S"].removeprefix("EVENT#") for item in found]

    # -- event waits and callbacks --------------------------------------------------------

    def _wait_key(self, name: str, run_id: str, task_id: str) -> dict[str, Any]:
        return {"PK": {"S": f"EVENTWAIT#{name}#{self.shard(run_id)}"},
                "SK": {"S": f"WAIT#{run_id}#{task_id}"}}  # fmt: skip

    def put_event_wait(self, wait: EventWaitRecord) -> bool:
        item = item_attributes(wait, _WAIT_FIELDS)
        if wait.expires_at is not None:
            item["wait_expires_at"] = {"N": repr(wait.expires_at)}
        ttl = (wait.expires_at or wait.created_at) + EVENT_WAIT_TTL_SECONDS
        item.update(self._wait_key(wait.name, wait.run_id, wait.task_id),
                    expires_at={"N": str(int(ttl))})  # fmt: skip
        return self._put(
            item, "attribute_not_exists(PK)", "put_event_wait",
            is_ours=lambda found: _same_fields(found, item, _WAIT_FIELDS),
        )  # fmt: skip

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
                    values = field_values(item, _WAIT_FIELDS)
                    if values.get("name") != name:
                        continue
                    if "wait_expires_at" in item:
                        values["expires_at"] = float(item["wait_expires_at"]["N"])
                    waits.append(EventWaitRecord(**values))
                if "LastEvaluatedKey" not in page:
                    return waits
                request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

        return [w for waits in self._each(shard_waits, range(self.shards)) for w in waits]

    def delete_event_wait(self, name: str, run_id: str, task_id: str) -> None:
        self._call("delete_event_wait", self._db.delete_item, TableName=self.table_name,
                   Key=self._wait_key(name, run_id, task_id))  # fmt: skip

    def create_callback(self, callback: CallbackRecord) -> bool:
        item = item_attributes(callback, _CALLBACK_FIELDS)
        if callback.expires_at is not None:
            item["wait_expires_at"] = {"N": repr(callback.expires_at)}
        ttl = (callback.expires_at or callback.created_at) + CALLBACK_TTL_SECONDS
        item.update(PK={"S": f"CALLBACK#{callback.token_hash}"}, SK={"S": "CALLBACK"},
                    expires_at={"N": str(int(ttl))})  # fmt: skip
        return self._put(
            item, "attribute_not_exists(PK)", "create_callback",
            is_ours=lambda found: _same_fields(found, item, _CALLBACK_FIELDS),
        )  # fmt: skip

    def get_callback(self, token_hash: str) -> CallbackRecord | None:
        item = self._get({"PK": {"S": f"CALLBACK#{token_hash}"}, "SK": {"S": "CALLBACK"}})
        if item is None:
            return None
        values = field_values(item, _CALLBACK_FIELDS)
        if "wait_expires_at" in item:
            values["expires_at"] = float(item["wait_expires_at"]["N"])
        return CallbackRecord(**values)

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

    def wake_queued_run(self, run_id: str, *, at: float) -> bool:
        item = self._update(
            run_id,
            "SET due_at = :at, GSI3PK = :due, GSI3SK = :at",
            "#status = :queued",
            {":at": {"N": repr(at)}, ":due": self._due_key(run_id),
             ":queued": {"S": RunStatus.QUEUED.value}},
            "wake_queued_run",
            is_ours=lambda found: _same_fields(found, _encoded({"due_at": at}), ["due_at"]),
        )  # fmt: skip
        return item is not None

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
            if _code(exc) == "ConditionalCheckFailedException":
                return False
            raise StoreError(f"purge_expired_runs: {_describe(exc)}") from exc
        return True

    def _each(self, fn: Callable[[Any], T], args: Any) -> list[T]:
        """`fn` over every shard's argument, SHARD_READ_THREADS at a time (boto3 clients are
        thread-safe); the first StoreError is raised."""
        args = list(args)
        if len(args) == 1:
            return [fn(args[0])]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=SHARD_READ_THREADS, thread_name_prefix="triggerfish-shards"
            )
        return list(self._pool.map(fn, args))

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
            if _code(exc) != "ConditionalCheckFailedException":
                raise StoreError(
                    f"release_concurrency_slot on {self.table_name}: {_describe(exc)}"
                ) from exc

    def wake_run(self, run_id: str, *, at: float, now: float | None = None) -> str:
        now = time.time() if now is None else now
        is_free = "(attribute_not_exists(lease_owner) OR lease_expires_at < :now)"
        item = self._update(
            run_id,
            "SET resume_at = :at, due_at = :at, GSI3PK = :due, GSI3SK = :at",
            f"#status = :waiting AND {is_free}"
            " AND (attribute_not_exists(resume_at) OR resume_at > :at)",
            {":at": {"N": repr(at)}, ":now": {"N": repr(now)}, ":due": self._due_key(run_id),
             ":waiting": {"S": RunStatus.WAITING.value}},
            "wake_run",
            is_ours=lambda found: (found.get("status", {}).get("S") == RunStatus.WAITING.value
                                   and _same_fields(found, _encoded({"resume_at": at, "due_at": at}),
                                                    ["resume_at", "due_at"])),
        )  # fmt: skip
        if item is not None:
            return "woken"
        current = self.get_run(run_id)
        if current is None or current.status.is_final:
            return "unchanged"
        is_leased = current.lease_owner is not None and (
            current.lease_expires_at is None or current.lease_expires_at >= now
        )
        return "leased" if is_leased else "unchanged"

    def retry_task(self, task: TaskRecord, *, failed_attempts: int) -> bool:
        item = item_attributes(task, TASK_FIELDS)
        item.update(PK={"S": f"RUN#{task.run_id}"}, SK={"S": f"TASK#{task.id}"})
        values = {":errored": {"S": TaskStatus.ERRORED.value},
                  ":attempts": {"N": str(failed_attempts)}}  # fmt: skip
        return self._put(
            item, "#status = :errored AND attempts = :attempts", "retry_task", values=values,
            names={"#status": "status"},
            is_ours=lambda found: _same_fields(found, item, TASK_FIELDS),
        )  # fmt: skip

    def retry_run(self, run_id: str, *, now: float) -> RunRecord | None:
        changes = retried_run_changes(now)
        names = {"#status": "status"}
        values: dict[str, Any] = {":failed": {"S": RunStatus.FAILED.value},
                                  ":timed_out": {"S": RunStatus.TIMED_OUT.value},
                                  ":due": self._due_key(run_id), ":due_at": {"N": repr(now)}}  # fmt: skip
        sets = ["GSI3PK = :due", "GSI3SK = :due_at", "retries = if_not_exists(retries, :zero) + :one"]
        removes = ["output_ref"]
        values.update({":zero": {"N": "0"}, ":one": {"N": "1"}})
        for name, value in changes.items():
            names[f"#{name}"] = name
            if value is None:
                removes.append(f"#{name}")
            else:
                sets.append(f"#{name} = :v_{name}")
                values[f":v_{name}"] = encode(value, name)
        item = self._update(
            run_id, "SET " + ", ".join(sets) + " REMOVE " + ", ".join(removes),
            "#status IN (:failed, :timed_out)", values, "retry_run", names=names,
            is_ours=lambda found: _same_fields(found, _encoded(changes), list(changes)),
        )  # fmt: skip
        return None if item is None else self._run(item)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
        self._db.close()

    # -- large outputs ------------------------------------------------------------------

    def _output_attributes(
        self,
        output_json: str | None,
        run_id: str,
        name: str,
        key: str,
        *,
        inline_limit: int = MAX_INLINE_OUTPUT_BYTES,
    ) -> dict[str, Any]:
        """`output_json` inline, or in S3 behind `output_ref` when over `inline_limit`.

        Each upload gets a fresh object key, so a write that then loses its condition can
        never replace the object the winning record points to.
        """
        if output_json is None:
            return {}
        size = len(output_json.encode())
        if size <= inline_limit:
            return {"output_json": {"S": output_json}}
        if self._blobs is None:
            raise OutputError(
                key,
                f"{size} bytes as JSON is over the {inline_limit}-byte room left in its "
                "DynamoDB item; set a bucket (TRIGGERFISH_BUCKET) to keep large outputs in S3",
            )
        return {"output_ref": {"S": self._blobs.put(run_id, name, output_json)}}

    def _run_output_room(self, run_id: str, output_json: str) -> int:
        """Bytes a run's output may take inline beside the payload in the same item."""
        if len(output_json.encode()) + MAX_PAYLOAD_ROOM_BYTES <= MAX_INLINE_OUTPUT_BYTES:
            return MAX_INLINE_OUTPUT_BYTES
        item = self._get({"PK": {"S": f"RUN#{run_id}"}, "SK": {"S": "RUN"}})
        payload = (item or {}).get("payload_json", {}).get("S", "")
        return MAX_INLINE_OUTPUT_BYTES - len(payload.encode())

    def _drop_blob(self, attributes: dict[str, Any]) -> None:
        """Deletes the object a refused write uploaded."""
        ref = attributes.get("output_ref", {}).get("S")
        if ref and self._blobs is not None:
            self._blobs.delete(ref)

    def _read_blob(self, ref: str) -> str:
        if self._blobs is None:
            raise StoreError(f"output {ref} is in S3 but this store has no bucket configured")
        return self._blobs.get(ref)

    def move_hooks_due(self, run_id: str, *, expected: float, to: float | None) -> bool:
        values: dict[str, Any] = {":expected": {"N": repr(expected)}, **_finalvalues()}
        condition = "#status IN (:f0, :f1, :f2, :f3, :f4, :f5) AND hooks_due_at = :expected"
        if to is None:
            expression = "REMOVE hooks_due_at, due_at, GSI3PK, GSI3SK"
        else:
            expression = "SET hooks_due_at = :to, due_at = :to, GSI3PK = :due, GSI3SK = :to"
            values.update({":to": {"N": repr(to)}, ":due": self._due_key(run_id)})
        item = self._update(
            run_id, expression, condition, values, "move_hooks_due",
            is_ours=lambda found: _same_fields(found, _encoded({"hooks_due_at": to}),
                                               ["hooks_due_at"]),
        )  # fmt: skip
        return item is not None

    # -- calls --------------------------------------------------------------------------

    def _call(self, operation: str, fn: Any, **kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except self._errors as exc:
            raise StoreError(f"{operation} on {self.table_name}: {_describe(exc)}") from exc

    def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        answer = self._call(
            "get_item", self._db.get_item, TableName=self.table_name, Key=key, ConsistentRead=True
        )
        item: dict[str, Any] | None = answer.get("Item")
        return item

    def _put(
        self,
        item: dict[str, Any],
        condition: str,
        operation: str,
        *,
        values: dict[str, Any] | None = None,
        names: dict[str, str] | None = None,
        is_ours: Callable[[dict[str, Any]], bool],
    ) -> bool:
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "Item": item,
            "ConditionExpression": condition,
        }
        if values:
            request["ExpressionAttributeValues"] = values
        if names:
            request["ExpressionAttributeNames"] = names
        try:
            self._db.put_item(**request)
        except self._errors as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return _was_retried(exc) and self._is_own_write(
                    {"PK": item["PK"], "SK": item["SK"]}, is_ours, operation
                ) is not None
            raise StoreError(f"{operation} on {self.table_name}: {_describe(exc)}") from exc
        return True

    def _is_own_write(
        self, key: dict[str, Any], is_ours: Callable[[dict[str, Any]], bool], operation: str
    ) -> dict[str, Any] | None:
        """The item, when it shows the write whose answer was lost; else None (we lost)."""
        found = self._get(key)
        if found is None or not is_ours(found):
            return None
        logger.info("%s on %s: a retried write found its own first try applied",
                    operation, self.table_name)  # fmt: skip
        return found

    def _update(
        self,
        run_id: str,
        expression: str,
        condition: str,
        values: dict[str, Any],
        operation: str,
        *,
        names: dict[str, str] | None = None,
        is_ours: Callable[[dict[str, Any]], bool],
    ) -> dict[str, Any] | None:
        key = {"PK": {"S": f"RUN#{run_id}"}, "SK": {"S": "RUN"}}
        try:
            answer = self._db.update_item(
                TableName=self.table_name,
                Key=key,
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names or {"#status": "status"},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except self._errors as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return self._is_own_write(key, is_ours, operation) if _was_retried(exc) else None
            raise StoreError(f"{operation} on {self.table_name}: {_describe(exc)}") from exc
        item: dict[str, Any] = answer["Attributes"]
        return item


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


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", {}) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _describe(exc: Exception) -> str:
    """The error with its class name (a BotoCoreError's text alone can be vague)."""
    return f"{type(exc).__name__}: {exc}"


def _was_retried(exc: Exception) -> bool:
    """True when botocore sent the call more than once (an earlier try may have applied)."""
    response = getattr(exc, "response", {}) or {}
    return bool(response.get("ResponseMetadata", {}).get("RetryAttempts", 0))


def _encoded(values: dict[str, Any]) -> dict[str, Any]:
    """Field values as attribute values (None: absent)."""
    return {name: encode(value, name) for name, value in values.items() if value is not None}


def _same_fields(found: dict[str, Any], ours: dict[str, Any], names: list[str]) -> bool:
    """True when `found` holds exactly our value (or absence) for every one of `names`.

    Compared decoded, since DynamoDB normalizes numbers ("1.0" comes back as "1").
    """
    for name in names:
        if (name in found) != (name in ours):
            return False
        if name in found and decode(found[name], name) != decode(ours[name], name):
            return False
    return True


def _finalvalues() -> dict[str, Any]:
    return {f":f{i}": {"S": s.value} for i, s in enumerate(sorted(FINAL_RUN_STATUSES))}
