"""Exact types across replays (issue 18 item 3): the default serdes round-trips datetime, date,
Decimal, UUID, bytes, tuple, set and pydantic models; a custom serdes on the client or a call."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from support.aws import make_dynamodb_store
from support.jobs import make_client
from triggerfish.core import IO, ConfigError, Context, JsonSerdes, RunStatus, invoke_trigger
from triggerfish.core.testing import drive


class Payment(BaseModel):
    id: uuid.UUID
    at: datetime
    amount: Decimal
    tags: tuple[str, ...] = ()


ZONES = [None, UTC, timezone(timedelta(hours=5, minutes=30))]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8), st.binary(max_size=8), st.uuids(), st.dates(),
    st.datetimes(timezones=st.sampled_from(ZONES)),
    st.decimals(allow_nan=False, allow_infinity=False),
)  # fmt: skip
hashables = st.one_of(st.integers(), st.text(max_size=5), st.uuids(), st.dates(), st.binary(max_size=4))
keys = st.text(max_size=5) | st.sampled_from(["$date", "$tuple", "$dict", "$model"])
models = st.builds(
    Payment, id=st.uuids(), at=st.datetimes(timezones=st.sampled_from(ZONES)),
    amount=st.decimals(allow_nan=False, allow_infinity=False, places=2),
    tags=st.tuples(st.text(max_size=3)),
)  # fmt: skip
values = st.recursive(
    scalars | models,
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner)
    | st.dictionaries(keys, inner, max_size=3) | st.sets(hashables, max_size=3)
    | st.frozensets(hashables, max_size=2),
    max_leaves=8,
)  # fmt: skip


def same(a: Any, b: Any) -> bool:
    """Equal and of the same type, all the way down."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, datetime):
        return a == b and a.utcoffset() == b.utcoffset()
    return bool(a == b)


_JOBS = itertools.count()


async def run_and_replay(client: Any, outputs: list[Any]) -> tuple[list[Any], list[Any]]:
    """Each output returned by a task; what the run got the first time and on replay."""
    seen: list[list[Any]] = []
    job_id = f"values-{next(_JOBS)}"

    @client.define_job(id=job_id, trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> None:
        seen.append([await io.run_task(f"v{n}", lambda v=v: v) for n, v in enumerate(outputs)])
        await io.wait("pause", seconds=1)

    run = await client.invoke(job_id, None)
    report = await drive(client, run.id)
    assert report.status is RunStatus.COMPLETED, (await client.get_run(run.id)).error
    assert len(seen) == 2
    return seen[0], seen[1]


@pytest.mark.parametrize("kind", ["sqlite", "moto"])
def test_every_supported_value_keeps_its_value_and_type_when_replayed(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if kind == "sqlite":
        from triggerfish.core import SQLiteStore

        store: Any = SQLiteStore(tmp_path / "runs.db")
    else:
        store = make_dynamodb_store(request.getfixturevalue("moto_url"))
    client = make_client(store)

    @settings(max_examples=40 if kind == "sqlite" else 15, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
    @given(st.lists(values, min_size=1, max_size=4))
    def check(outputs: list[Any]) -> None:
        first, replayed = asyncio.run(run_and_replay(client, outputs))
        for original, got_first, got_replayed in zip(outputs, first, replayed, strict=True):
            assert same(original, got_first), (original, got_first)
            assert same(original, got_replayed), (original, got_replayed)

    check()
    store.close()


async def test_plain_json_stays_plain_and_tags_are_readable(sqlite_or_moto_store: Any) -> None:
    client = make_client(sqlite_or_moto_store)
    when = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

    @client.define_job(id="shown", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> None:
        await io.run_task("plain", lambda: {"a": [1, "x", None], "$not_a_tag": 1})
        await io.run_task("typed", lambda: {"at": when, "pair": (1, 2), "$date": "text"})

    run = await client.invoke("shown", None)
    await drive(client, run.id)
    plain, typed = (await client.get_run(run.id)).tasks
    assert plain.output == {"a": [1, "x", None], "$not_a_tag": 1}
    assert typed.output == {"at": {"$datetime": "2024-05-01T12:00:00+00:00"},
                            "pair": {"$tuple": [1, 2]}, "$date": "text"}  # fmt: skip


async def test_large_typed_outputs_keep_their_types_through_s3(moto_url: str) -> None:
    import boto3

    bucket = f"outputs-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    client = make_client(make_dynamodb_store(moto_url, bucket=bucket))
    big = {
        "blob": os.urandom(300_000),
        "at": datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        "ids": tuple(uuid.UUID(int=n) for n in range(3)),
        "payment": Payment(id=uuid.UUID(int=9), at=datetime(2024, 1, 1), amount=Decimal("9.99")),
        "days": {date(2024, 1, 1), date(2024, 1, 2)},
    }
    first, replayed = await run_and_replay(client, [big])
    assert same(big, first[0]) and same(big, replayed[0])
    assert len(s3.list_objects_v2(Bucket=bucket)["Contents"]) == 1


class VersionedSerdes:
    """Not JSON: "v1:" then JSON; models by name only (what a custom serdes can do)."""

    def __init__(self) -> None:
        self.calls = {"serialize": 0, "deserialize": 0}

    def serialize(self, value: Any) -> str:
        self.calls["serialize"] += 1
        return "v1:" + json.dumps(value.model_dump(mode="json") if isinstance(value, Payment) else value)

    def deserialize(self, text: str) -> Any:
        self.calls["deserialize"] += 1
        data = json.loads(text.removeprefix("v1:"))
        return Payment.model_validate(data) if isinstance(data, dict) and "amount" in data else data


class JsonTextSerdes:
    """Plain JSON text, every dict read back as a Payment."""

    def serialize(self, value: Any) -> str:
        return json.dumps(value.model_dump(mode="json") if isinstance(value, BaseModel) else value)

    def deserialize(self, text: str) -> Any:
        data = json.loads(text)
        return Payment.model_validate(data) if isinstance(data, dict) else data


async def test_a_custom_serdes_on_the_client_and_on_a_call(sqlite_or_moto_store: Any) -> None:
    client_serdes, call_serdes = VersionedSerdes(), VersionedSerdes()
    client = make_client(sqlite_or_moto_store, serdes=client_serdes)
    payment = Payment(id=uuid.UUID(int=1), at=datetime(2024, 1, 1), amount=Decimal("1.50"))
    seen: list[Any] = []

    @client.define_job(id="custom", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> None:
        a = await io.run_task("client", lambda: payment)
        b = await io.run_task("call", lambda: [1, 2], serdes=call_serdes)
        c = await io.run_task("default", lambda: (1, 2), serdes=JsonSerdes())
        seen.append((a, b, c))
        await io.wait("pause", seconds=1)

    run = await client.invoke("custom", None)
    await drive(client, run.id)
    assert seen[0] == seen[1] == (payment, [1, 2], (1, 2))
    assert client_serdes.calls["serialize"] == 1 and call_serdes.calls["serialize"] == 1
    tasks = {t.key: t for t in (await client.get_run(run.id)).tasks}
    assert tasks["call"].output == "v1:[1, 2]"  # not JSON: shown as the stored text
    assert tasks["default"].output == {"$tuple": [1, 2]}


async def test_serdes_on_parallel_items_and_invoke_and_wait(sqlite_or_moto_store: Any) -> None:
    client = make_client(sqlite_or_moto_store)
    serdes = JsonTextSerdes()
    seen: list[Any] = []
    received: list[Any] = []

    @client.define_job(id="child", trigger=invoke_trigger())
    async def child(payload: Any, io: IO, ctx: Context) -> Any:
        received.append(payload)
        return {**payload, "amount": "2.50"}

    @client.define_job(id="parent", trigger=invoke_trigger())
    async def parent(payload: Any, io: IO, ctx: Context) -> None:
        def pay(n: int) -> Payment:
            return Payment(id=uuid.UUID(int=n), at=datetime(2024, 1, n), amount=Decimal(n))

        items = await io.parallel("pay", [1, 2], pay, serdes=serdes)
        out = await io.invoke_and_wait("child", "child", items[0], serdes=serdes)
        seen.append((items, out))
        await io.wait("pause", seconds=1)

    run = await client.invoke("parent", None)
    assert (await client.execute(run.id)).status is RunStatus.WAITING  # on its child's run
    child_run = (await client.list_runs(job_id="child")).runs[0]
    await drive(client, child_run.id)
    await drive(client, run.id)
    assert (await client.get_run(run.id)).status is RunStatus.COMPLETED
    items, out = seen[-1]
    assert seen[0] == seen[-1]
    assert [type(i) for i in items] == [Payment, Payment] and items[1].amount == Decimal(2)
    assert received == [{"id": str(uuid.UUID(int=1)), "at": "2024-01-01T00:00:00",
                         "amount": "1", "tags": []}]  # fmt: skip
    assert isinstance(out, Payment) and out.amount == Decimal("2.50")


async def test_a_serdes_without_its_methods_is_a_config_error(sqlite_or_moto_store: Any) -> None:
    with pytest.raises(ConfigError, match="serdes"):
        make_client(sqlite_or_moto_store, serdes=object())


async def test_scalar_outputs_store_as_json_and_unstorable_ones_fail_naming_the_task(
    tmp_path: Path,
) -> None:
    from triggerfish.core import SQLiteStore

    client = make_client(SQLiteStore(tmp_path / "scalars.db"))
    outputs = [7, -(10**40), True, None, "é\n", 2.5]

    @client.define_job(id="scalars", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> list[Any]:
        got = [await io.run_task(f"v{i}", lambda v=v: v) for i, v in enumerate(outputs)]
        await io.run_task("huge", lambda: 10**5000)  # more digits than Python makes text of
        return got

    run = await client.invoke("scalars", None)
    await drive(client, run.id)
    done = await client.get_run(run.id)
    assert [task.output for task in done.tasks[:-1]] == outputs
    assert done.status is RunStatus.FAILED
    assert done.tasks[-1].key == "huge"
    assert "an int too long to store" in done.tasks[-1].error["message"]
