"""DESIGN.md, Dispatch: boto3 clients not passed in are built from the environment, so
``AWS_ENDPOINT_URL`` alone points the store and the dispatcher at a local server."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest
from support.jobs import make_client
from triggerfish.core import IO, Context, DynamoDBStore, RunStatus, SQSDispatcher, invoke_trigger
from triggerfish.core.testing import drive


async def test_aws_endpoint_url_alone_points_store_and_queue_at_the_server(
    moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {"AWS_ENDPOINT_URL": moto_url, "AWS_DEFAULT_REGION": "us-east-1",
                        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    queue_url = boto3.client("sqs").create_queue(QueueName=f"env-{uuid.uuid4().hex[:8]}")[
        "QueueUrl"
    ]
    store = DynamoDBStore(f"env-{uuid.uuid4().hex[:8]}")
    store.create_table()
    client = make_client(store)
    client.dispatcher = SQSDispatcher(queue_url)

    @client.define_job(id="hello", trigger=invoke_trigger())
    async def hello(payload: Any, io: IO, ctx: Context) -> str:
        await io.wait("pause", seconds=60)
        return "done"

    run = await client.invoke("hello", None)
    await client.execute(run.id)

    seen = boto3.client("dynamodb").describe_table(TableName=store.table_name)["Table"]
    assert seen["TableStatus"] == "ACTIVE"
    assert (await client.get_run(run.id)).status is RunStatus.WAITING
    messages = boto3.client("sqs").receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
    ).get("Messages", [])
    assert [json.loads(m["Body"])["run_id"] for m in messages] == [run.id]
    assert (await drive(client, run.id)).status is RunStatus.COMPLETED


def test_a_boto3_default_session_set_up_in_code_is_what_the_clients_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The clients are made with botocore alone (no boto3 import on a cold start), but a
    default session the user's code set up, as `boto3.client` would use, still applies."""
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    boto3.setup_default_session(region_name="eu-west-1", aws_access_key_id="testing",
                                aws_secret_access_key="testing")  # fmt: skip
    store = DynamoDBStore("regional", bucket="regional-bucket")
    dispatcher = SQSDispatcher("https://sqs.eu-west-1.amazonaws.com/1/q")
    assert store._db.meta.region_name == "eu-west-1"
    assert dispatcher._sqs.meta.region_name == "eu-west-1"
