"""`DynamoDBStore`: the production store, one table (see table.json), single-item writes.

    PK            SK              what
    RUN#<id>      RUN             the run (GSI1: by job, GSI2: by time, GSI3: due, sparse;
                                  a QUEUED run's GSI3 key is its GSI1PK, or JOB#<queue>#<n>
                                  for a named queue, sorted by priority, then creation)
    RUN#<id>      TASK#<task id>  a task or wait
    RUN#<id>      LOG#<key>       a log line
    EVENT#<id>    EVENT           an event (expires after EVENT_TTL_SECONDS)
    SCHEDULE#<job> SLOT#<slot>    a claimed cron/interval slot (expires)
    JOB#<job>     CONCURRENCY#<n> who holds concurrency slot n of a job (or of a named
                                  queue: a shared limit, a concurrency key; core/queues.py)
    FLOW#<name>   FLOW            flow state: a rate window, a debounce, a batch (versioned)
    EVENTWAIT#<name>#<n>  WAIT#<run>#<task>  an io.wait_for_event, found by event name
    CALLBACK#<sha256>     CALLBACK           an io.wait_for_request callback (expires)
    CONNECTIONS           CONNECTION#<name>  a stored connection (sealed credentials)
    CONNWAIT#<name>#<n>   RUN#<run>          a run WAITING_ON_CONNECTIONS, found by name
    JOB#<job>     PAUSED          present while the job is paused (store/dynamodb_fleet.py)
    SCHEDULES#<n> SCHEDULE#<id>   a schedule made at run time, n its id's shard

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

The store is one class of five parts, each a module: the requests they are all made of
(dynamodb_table.py), the run item's writes (dynamodb_runs.py), every other item's writes
(dynamodb_records.py), the reads of many items (dynamodb_queries.py) and connections
(dynamodb_connections.py); attribute values
are in items.py. This module holds the constructor, the table's creation and the constants.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from ..aws import aws_client, require_botocore
from ..errors import StoreError
from ..usage import count_dynamodb_call, note_batch_items
from .base import load_table_definition
from .blobs import S3Blobs
from .dynamodb_connections import DynamoDBConnections
from .dynamodb_fleet import DynamoDBFleet
from .dynamodb_queries import DynamoDBQueries
from .dynamodb_records import (
    CALLBACK_TTL_SECONDS,
    EVENT_TTL_SECONDS,
    EVENT_WAIT_TTL_SECONDS,
    DynamoDBRecordWrites,
)
from .dynamodb_runs import DynamoDBRunWrites
from .dynamodb_table import (
    BATCH_WRITE_SIZE,
    SHARD_READ_THREADS,
    describe_error,
    error_code,
    logger,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_s3.client import S3Client

__all__ = [
    "BATCH_WRITE_SIZE",
    "CALLBACK_TTL_SECONDS",
    "DEFAULT_SHARDS",
    "EVENT_TTL_SECONDS",
    "EVENT_WAIT_TTL_SECONDS",
    "MAX_SHARDS",
    "SHARD_READ_THREADS",
    "DynamoDBStore",
]
"""The constants stay importable from here, where they were before the split."""

DEFAULT_SHARDS = 16
"""Index partitions per key (time, job, due): about 16 x 1,000 run writes/s (docs/scale.md)."""
MAX_SHARDS = 256
"""Every listing and sweep reads every shard, so the count stays bounded."""


class DynamoDBStore(
    DynamoDBRunWrites, DynamoDBRecordWrites, DynamoDBQueries, DynamoDBConnections, DynamoDBFleet
):
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

    def create_table(self, *, wait_seconds: float = 60.0) -> bool:
        """Creates the table from the one definition; False when it already exists."""
        definition = load_table_definition()
        ttl = definition.pop("TimeToLiveSpecification", None)
        try:
            self._db.create_table(TableName=self.table_name, **definition)
        except self._errors as exc:
            if error_code(exc) == "ResourceInUseException":
                return False
            raise StoreError(f"create_table {self.table_name}: {describe_error(exc)}") from exc
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

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
        self._db.close()
