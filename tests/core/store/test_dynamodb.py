"""DynamoDB specifics: the one table definition, large outputs in S3, clear size errors."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from support.aws import make_dynamodb_store
from support.jobs import make_client
from triggerfish.core import IO, Context, RunStatus, TaskStatus, invoke_trigger
from triggerfish.core.store.base import load_table_definition
from triggerfish.core.testing import drive

ROOT = Path(__file__).resolve().parents[3]
BIG = "y" * 400_000


def test_the_table_definition_is_package_data_with_keys_and_indexes() -> None:
    definition = load_table_definition()
    assert definition == json.loads((ROOT / "core" / "store" / "table.json").read_text())
    assert [i["IndexName"] for i in definition["GlobalSecondaryIndexes"]] == [
        "runs_by_job", "runs_by_time", "runs_due",
    ]
    assert definition["BillingMode"] == "PAY_PER_REQUEST"


def test_create_table_is_idempotent(moto_url: str) -> None:
    store = make_dynamodb_store(moto_url)
    assert store.create_table() is False


async def test_large_outputs_go_to_s3_and_come_back(moto_url: str) -> None:
    import boto3

    bucket = f"outputs-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    client = make_client(make_dynamodb_store(moto_url, bucket=bucket))

    @client.define_job(id="big", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> int:
        text = await io.run_task("download", lambda: BIG)
        return len(text)

    run = await client.invoke("big", None)
    await drive(client, run.id)

    finished = await client.get_run(run.id)
    assert finished.output == 400_000
    assert finished.tasks[0].output == BIG
    (key,) = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert key.startswith(f"runs/{run.id}/{finished.tasks[0].id}-")


@pytest.mark.parametrize("server", ["moto", "dynalite"])
async def test_large_output_without_a_bucket_fails_the_task_with_a_clear_error(
    server: str, request: pytest.FixtureRequest
) -> None:
    client = make_client(make_dynamodb_store(request.getfixturevalue(f"{server}_url")))

    @client.define_job(id="big", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.run_task("download", lambda: BIG)

    run = await client.invoke("big", None)
    report = await drive(client, run.id)

    assert report.status is RunStatus.FAILED
    (task,) = (await client.get_run(run.id)).tasks
    assert task.status is TaskStatus.ERRORED
    assert task.error is not None
    assert "'download'" in task.error["message"] and "TRIGGERFISH_BUCKET" in task.error["message"]
