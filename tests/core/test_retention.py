"""Retention: finished runs, their tasks, logs and blobs are deleted once they expire."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from support.aws import make_dynamodb_store
from support.jobs import make_client
from triggerfish.core import (
    IO,
    Client,
    ConfigError,
    Context,
    RunNotFound,
    RunStatus,
    invoke_trigger,
)
from triggerfish.core.testing import drive

DAY = 86400.0


def define(client: Client, job_id: str, **options: Any) -> None:
    async def body(payload: Any, io: IO, ctx: Context) -> Any:
        io.logger.info("hello")
        value = await io.run_task("t", lambda: payload)
        if payload == "wait":
            await io.wait("long", seconds=300 * DAY)  # waits are at most 365 days
        return value

    client.define_job(id=job_id, trigger=invoke_trigger(), run=body, **options)


async def finished_run(client: Client, job_id: str, payload: Any = 1) -> Any:
    run = await client.invoke(job_id, payload)
    await drive(client, run.id)
    return await client.get_run(run.id)


async def test_finished_runs_expire_and_the_sweeper_purges_them(store: Any) -> None:
    client = make_client(store)
    define(client, "default")
    define(client, "short", retention=timedelta(hours=1))
    define(client, "forever", retention=None)
    kept = await finished_run(client, "default")
    short = await finished_run(client, "short")
    forever = await finished_run(client, "forever")
    waiting = await client.invoke("default", "wait")
    await client.execute(waiting.id)
    canceled = await client.invoke("default", 2)
    await client.cancel_run(canceled.id)

    assert client.retention == timedelta(days=30)
    assert kept.completed_at is not None and kept.expires_at is not None
    assert kept.expires_at - kept.completed_at == pytest.approx(timedelta(days=30),
                                                                abs=timedelta(seconds=1))
    assert short.expires_at - short.completed_at == pytest.approx(timedelta(hours=1),
                                                                  abs=timedelta(seconds=1))
    assert forever.expires_at is None
    assert (await client.get_run(canceled.id)).expires_at is not None
    assert (await client.get_run(waiting.id)).expires_at is None

    now = client.clock.time()
    await client.tick(now=now + 2 * 3600)  # one hour past `short`'s expiry
    with pytest.raises(RunNotFound):
        await client.get_run(short.id)
    assert not store.load_history(short.id).tasks and not store.load_history(short.id).logs
    assert (await client.get_run(kept.id)).status is RunStatus.COMPLETED

    await client.tick(now=now + 31 * DAY)
    for gone in (kept.id, canceled.id):
        with pytest.raises(RunNotFound):
            await client.get_run(gone)
        assert not store.load_history(gone).tasks
    assert (await client.get_run(forever.id)).status is RunStatus.COMPLETED
    assert (await client.get_run(waiting.id)).status is RunStatus.WAITING
    assert store.load_history(waiting.id).tasks


async def test_the_purge_also_deletes_the_runs_blobs(moto_url: str) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    bucket = f"outputs-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    client = make_client(make_dynamodb_store(moto_url, bucket=bucket),
                         retention=timedelta(days=1))

    @client.define_job(id="big", trigger=invoke_trigger())
    async def big(payload: Any, io: IO, ctx: Context) -> Any:
        await io.run_task("blob", lambda: "x" * 400_000)
        return "small"

    run = await finished_run(client, "big")
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 1
    await client.tick(now=client.clock.time() + 2 * DAY)
    with pytest.raises(RunNotFound):
        await client.get_run(run.id)
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_a_bad_retention_is_a_config_error_naming_it(store: Any) -> None:
    with pytest.raises(ConfigError, match="Client retention must be a timedelta"):
        make_client(store, retention=30)
    client = make_client(store)
    with pytest.raises(ConfigError, match="job 'j' retention must be more than 0"):
        define(client, "j", retention=timedelta(0))
    assert "j" not in client.jobs


async def test_a_run_created_invalid_expires_too(store: Any) -> None:
    from pydantic import BaseModel

    class Order(BaseModel):
        order: int

    client = make_client(store)

    async def body(payload: Any, io: IO, ctx: Context) -> Any:
        return payload

    client.define_job(id="orders", trigger=invoke_trigger(schema=Order), run=body,
                      retention=timedelta(hours=1))  # fmt: skip
    bad = await client.invoke("orders", {"order": "not a number"})
    kept = await client.get_run(bad.id)
    assert kept.status is RunStatus.INVALID_PAYLOAD
    assert kept.expires_at - kept.created_at == pytest.approx(timedelta(hours=1),
                                                              abs=timedelta(seconds=1))
    await client.tick(now=client.clock.time() + 2 * 3600)
    with pytest.raises(RunNotFound):
        await client.get_run(bad.id)
