"""No hot index partition: writes per GSI partition key, counted on moto through botocore hooks.

The per-run counts asserted here are the ones docs/scale.md quotes.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import pytest
from support.aws import make_dynamodb_store
from support.jobs import make_client
from triggerfish.core import IO, Context, DynamoDBStore, RunStatus, invoke_trigger
from triggerfish.core.pause_flags import PAUSE_CACHE_SECONDS
from triggerfish.core.store.base import load_table_definition
from triggerfish.core.store.dynamodb import DEFAULT_SHARDS
from triggerfish.core.testing import drive

INDEXES = {
    index["IndexName"]: (
        [k["AttributeName"] for k in index["KeySchema"]],
        index["Projection"]["ProjectionType"],
    )
    for index in load_table_definition()["GlobalSecondaryIndexes"]
}


class WriteCounter:
    """Successful table writes by kind, and index writes by (index, partition key).

    An index write is counted as DynamoDB bills it: an item whose index keys appear, change
    or vanish writes there (a key change is a delete and a put); with ALL projection every
    change of the item writes, with KEYS_ONLY only a change of its keys.
    """

    def __init__(self, db: Any) -> None:
        self.table: Counter[str] = Counter()
        self.index: dict[str, Counter[str]] = {name: Counter() for name in INDEXES}
        self.reads: Counter[str] = Counter()
        self.counting_reads = True
        """Off while `drive` itself reads a run between invocations (the harness's reads)."""
        self._keys: dict[tuple[str, str], dict[str, tuple[str, str] | None]] = {}
        db.meta.events.register("before-parameter-build.dynamodb.*", self._keep_params)
        db.meta.events.register("after-call.dynamodb.*", self._count)

    @staticmethod
    def _keep_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["counted_params"] = params

    def _count(self, http_response: Any, parsed: dict[str, Any], model: Any,
               context: dict[str, Any], **_: Any) -> None:  # fmt: skip
        if http_response.status_code != 200:
            return
        params = context.get("counted_params", {})
        name = model.name
        if name in ("GetItem", "Query"):
            if self.counting_reads:
                self.reads[name] += 1
        elif name == "PutItem":
            self._write(params["Item"], "put " + params["Item"]["SK"]["S"].split("#")[0])
        elif name == "UpdateItem":
            self._write(parsed["Attributes"], "update " + params["Key"]["SK"]["S"].split("#")[0])
        elif name == "BatchWriteItem":
            for request in params["RequestItems"][next(iter(params["RequestItems"]))]:
                self._write(request["PutRequest"]["Item"], "batch " + request["PutRequest"]["Item"]["SK"]["S"].split("#")[0])
        elif name == "DeleteItem":
            self.table["delete " + params["Key"]["SK"]["S"].split("#")[0]] += 1

    def _write(self, item: dict[str, Any], kind: str) -> None:
        self.table[kind] += 1
        key = (item["PK"]["S"], item["SK"]["S"])
        before = self._keys.get(key, {})
        after: dict[str, tuple[str, str] | None] = {}
        for index, ((pk, sk), projection) in INDEXES.items():
            new = (item[pk]["S"], str(item[sk])) if pk in item else None
            old = before.get(index)
            after[index] = new
            if old is not None and (new is None or new != old):
                self.index[index][old[0]] += 1  # the old entry goes
                if new is not None:
                    self.index[index][new[0]] += 1
            elif new is not None and (old is None or projection == "ALL"):
                self.index[index][new[0]] += 1
        self._keys[key] = after


async def drive_counted(moto_url: str, runs: int, *, typical: bool) -> WriteCounter:
    """`runs` runs through the Client API on moto, every write counted."""
    store = make_dynamodb_store(moto_url)
    counter = WriteCounter(store._db)
    client = make_client(store)

    @client.define_job(id="typical", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> int:
        total = 0
        for n in range(5 if typical else 0):
            total += await io.run_task(f"step-{n}", lambda n=n: n)
            if n == 2:
                await io.wait("pause", seconds=60)
        return total

    execute = client.execute

    async def counted_execute(*args: Any, **kwargs: Any) -> Any:
        counter.counting_reads = True
        try:
            return await execute(*args, **kwargs)
        finally:
            counter.counting_reads = False

    client.execute = counted_execute  # type: ignore[method-assign]

    async def one(n: int) -> RunStatus:
        run = await client.invoke("typical", None, id=f"run-{n:04d}")
        counter.counting_reads = False  # drive's own look at a waiting run is not the product's
        try:
            return (await drive(client, run.id, skip_timeouts=True)).status
        finally:
            counter.counting_reads = True

    # Exact counts drive one run at a time: concurrent drives share one SkippingClock, and its
    # jump over one run's wait would make another's live invocation renew its lease.
    batch = 1 if typical else 10
    for start in range(0, runs, batch):
        statuses = await asyncio.gather(*(one(n) for n in range(start, min(runs, start + batch))))
        assert set(statuses) == {RunStatus.COMPLETED}
    return counter


async def test_no_index_partition_takes_more_than_its_share_of_writes(moto_url: str) -> None:
    runs = 300
    counter = await drive_counted(moto_url, runs, typical=False)

    families = {
        f"{index} {key.split('#')[0]}": Counter({k: n for k, n in partitions.items()
                                                  if k.split("#")[0] == key.split("#")[0]})
        for index, partitions in counter.index.items() for key in partitions
    }  # the due index also lists finished runs by expiry (EXPIRES#n, retention)
    for index, partitions in families.items():
        total = sum(partitions.values())
        busiest = max(partitions.values())
        print(f"\n{index}: {total} writes over {len(partitions)} partitions, busiest {busiest}"
              f" ({busiest / total:.1%}; an even share is {1 / DEFAULT_SHARDS:.1%})")  # fmt: skip
        assert len(partitions) == DEFAULT_SHARDS, index
        assert busiest <= total / DEFAULT_SHARDS * 2, (index, partitions)


async def test_writes_per_run_task_and_invocation_are_the_documented_ones(moto_url: str) -> None:
    runs = 20
    started = time.monotonic()
    counter = await drive_counted(moto_url, runs, typical=True)
    periods = (time.monotonic() - started) / PAUSE_CACHE_SECONDS

    per_run = {kind: count / runs for kind, count in sorted(counter.table.items())}
    index = {name: sum(p.values()) / runs for name, p in counter.index.items()}
    print("\ntable writes per run:", per_run, "index writes per run:", index,
          "reads per run:", {k: v / runs for k, v in counter.reads.items()})  # fmt: skip
    # docs/scale.md quotes these: a run of 5 tasks and 1 wait, so two invocations.
    assert per_run == {
        "put RUN": 1.0,  # create_run
        "put TASK": 7.0,  # 5 task records; the wait's record WAITING, then COMPLETED
        "update RUN": 4.0,  # 2 x lease_run, WAITING at the wait, COMPLETED at the end
    }, per_run
    # The lease returns the run (no GetItem first) and the first lease has no history to
    # query: only the second invocation reads (issue 9; before: 2 GetItem + 2 Query).
    # The one GetItem: a job's pause flag, read once per PAUSE_CACHE_SECONDS per process.
    assert counter.reads["Query"] == runs
    assert counter.reads["GetItem"] <= periods + 1, (counter.reads, periods)
    # Every run-item write rewrites its ALL-projected entries; the due index changes key at
    # create (put), each lease (delete+put), the wait (delete+put) and the end (delete).
    assert index == {"runs_by_job": 5.0, "runs_by_time": 5.0, "runs_due": 9.0}, index


def test_shards_are_bounded_and_named() -> None:
    for bad in (0, -1, 257, 2.5, True, "16"):
        with pytest.raises(ValueError, match="shards must be an integer from 1 to 256"):
            DynamoDBStore("runs", region="us-east-1", shards=bad)  # type: ignore[arg-type]


def test_the_shard_of_a_run_is_a_stable_hash_of_its_id() -> None:
    store = DynamoDBStore("runs", region="us-east-1", shards=16)
    assert [store.shard(f"run-{n}") for n in range(8)] == [
        store.shard(f"run-{n}") for n in range(8)
    ]
    assert store.shard("run_0123456789abcdef01234567") == 6  # crc32, fixed across processes


def test_from_env_reads_the_shard_count_and_refuses_a_bad_one(moto_url: str) -> None:
    from triggerfish.core import Client, ConfigError

    env = {"TRIGGERFISH_TABLE": "runs", "TRIGGERFISH_ENDPOINT_URL": moto_url,
           "TRIGGERFISH_REGION": "us-east-1"}  # fmt: skip
    client = Client.from_env("acme", environ={**env, "TRIGGERFISH_SHARDS": "4"})
    assert client.store.shards == 4
    with pytest.raises(ConfigError, match="TRIGGERFISH_SHARDS"):
        Client.from_env("acme", environ={**env, "TRIGGERFISH_SHARDS": "many"})
