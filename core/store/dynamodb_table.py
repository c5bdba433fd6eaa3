"""`DynamoDBTable`: the requests every part of `DynamoDBStore` is made of.

One table, conditional single-item writes (`_put`, `_update`), consistent reads (`_get`),
queries on every index shard at once (`_each`), large outputs in S3 (`_output_attributes`),
and records decoded from items (`_run`, `_task`, `get_run`). Every botocore failure becomes a
StoreError; a conditional write that botocore retried and that then failed its condition is
read back, and counts as written when the item shows our own write (`_is_own_write`).

The store's parts (store/dynamodb_runs.py, dynamodb_records.py, dynamodb_queries.py)
subclass this class, and `DynamoDBStore` (store/dynamodb.py) inherits them all and sets the
attributes declared here in its constructor.
"""

from __future__ import annotations

import logging
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import OutputError, StoreError
from ..types import RunStatus, TaskStatus
from .base import MAX_INLINE_OUTPUT_BYTES, RunRecord, TaskRecord
from .items import RUN_FIELDS, TASK_FIELDS, field_values

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_dynamodb.client import DynamoDBClient

    from .blobs import S3Blobs

logger = logging.getLogger(__name__.rpartition(".")[0] + ".dynamodb")
"""The store's one logger, named as before it was split into modules."""

BATCH_WRITE_SIZE = 25
SHARD_READ_THREADS = 8
"""Shards queried at once by listings and the due query."""
T = TypeVar("T")


class DynamoDBTable:
    """One DynamoDB table's requests, with botocore's failures as StoreErrors."""

    table_name: str
    shards: int
    bucket: str | None
    _db: DynamoDBClient
    _errors: tuple[type[Exception], ...]
    _blobs: S3Blobs | None
    _pool: ThreadPoolExecutor | None

    def shard(self, run_id: str) -> int:
        """The index shard of a run: a stable hash (CRC-32) of its id, not Python's hash()."""
        return zlib.crc32(run_id.encode()) % self.shards

    def _due_key(self, run_id: str) -> dict[str, str]:
        return {"S": f"DUE#{self.shard(run_id)}"}

    def _run(self, item: dict[str, Any]) -> RunRecord:
        values = field_values(item, RUN_FIELDS)
        values["status"] = RunStatus(values["status"])
        if "output_ref" in item:
            values["output_json"] = self._read_blob(item["output_ref"]["S"])
        return RunRecord(**values)

    def get_run(self, run_id: str) -> RunRecord | None:
        item = self._get({"PK": {"S": f"RUN#{run_id}"}, "SK": {"S": "RUN"}})
        return None if item is None else self._run(item)

    def _task(self, item: dict[str, Any]) -> TaskRecord:
        values = field_values(item, TASK_FIELDS)
        values["status"] = TaskStatus(values["status"])
        if "output_ref" in item:
            values["output_json"] = self._read_blob(item["output_ref"]["S"])
        return TaskRecord(**values)

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

    def _drop_blob(self, attributes: dict[str, Any]) -> None:
        """Deletes the object a refused write uploaded."""
        ref = attributes.get("output_ref", {}).get("S")
        if ref and self._blobs is not None:
            self._blobs.delete(ref)

    def _read_blob(self, ref: str) -> str:
        if self._blobs is None:
            raise StoreError(f"output {ref} is in S3 but this store has no bucket configured")
        return self._blobs.get(ref)

    def _call(self, operation: str, fn: Any, **kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except self._errors as exc:
            raise StoreError(f"{operation} on {self.table_name}: {describe_error(exc)}") from exc

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
            if error_code(exc) == "ConditionalCheckFailedException":
                return was_retried(exc) and self._is_own_write(
                    {"PK": item["PK"], "SK": item["SK"]}, is_ours, operation
                ) is not None
            raise StoreError(f"{operation} on {self.table_name}: {describe_error(exc)}") from exc
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
            if error_code(exc) == "ConditionalCheckFailedException":
                return self._is_own_write(key, is_ours, operation) if was_retried(exc) else None
            raise StoreError(f"{operation} on {self.table_name}: {describe_error(exc)}") from exc
        item: dict[str, Any] = answer["Attributes"]
        return item


def error_code(exc: Exception) -> str:
    response = getattr(exc, "response", {}) or {}
    return str(response.get("Error", {}).get("Code", ""))


def describe_error(exc: Exception) -> str:
    """The error with its class name (a BotoCoreError's text alone can be vague)."""
    return f"{type(exc).__name__}: {exc}"


def was_retried(exc: Exception) -> bool:
    """True when botocore sent the call more than once (an earlier try may have applied)."""
    response = getattr(exc, "response", {}) or {}
    return bool(response.get("ResponseMetadata", {}).get("RetryAttempts", 0))
