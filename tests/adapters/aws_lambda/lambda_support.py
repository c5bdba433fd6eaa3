"""The Lambda side of the tests: a fake context, SQS records from real messages, a worker loop."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from triggerfish.core import Client, DynamoDBStore, SkippingClock, SQSDispatcher


class FakeContext:
    """Lambda's context with a settable budget, measured on the client's clock."""

    def __init__(self, clock: Any, budget_ms: int) -> None:
        self.clock = clock
        self.deadline = clock.time() + budget_ms / 1000.0
        self.aws_request_id = uuid.uuid4().hex
        self.function_name = "triggerfish-worker"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - self.clock.time()) * 1000))


def sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """An SQS event record (the shape Lambda's event source mapping delivers)."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": "us-east-1",
    }


@dataclass
class Invocation:
    """One worker invocation as the loop saw it."""

    started_at: float
    ended_at: float
    deadline: float
    result: Any


@dataclass
class AwsStack:
    """DynamoDB and SQS on moto's server, a client wired to them, and the raw SQS client."""

    client: Client
    sqs: Any
    queue_url: str
    queue_arn: str
    clock: SkippingClock
    requested_delays: list[int] = field(default_factory=list)

    @classmethod
    def build(cls, moto_url: str, *, skip_delays: bool = False) -> AwsStack:
        import boto3

        clock = SkippingClock()
        sqs = boto3.client("sqs", endpoint_url=moto_url, region_name="us-east-1")
        queue_url = sqs.create_queue(QueueName=f"runs-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        store = DynamoDBStore(
            f"runs-{uuid.uuid4().hex[:8]}", endpoint_url=moto_url, region="us-east-1"
        )
        store.create_table()
        dispatcher = SQSDispatcher(queue_url, client=sqs, clock=clock)
        client = Client("lambda-test", store=store, dispatcher=dispatcher, clock=clock)
        stack = cls(client, sqs, queue_url, arn["Attributes"]["QueueArn"], clock)
        if skip_delays:
            sqs.meta.events.register("before-parameter-build.sqs.SendMessage", stack._skip_delay)
        return stack

    def _skip_delay(self, params: dict[str, Any], **_: Any) -> None:
        """Delivers delayed messages at once, telling the loop how far to move the clock."""
        delay = int(params.get("DelaySeconds", 0))
        self.requested_delays.append(delay)
        params["DelaySeconds"] = 0
        params["MessageAttributes"] = {
            "requested_delay": {"DataType": "Number", "StringValue": str(delay)}
        }

    def run_worker(
        self, handler: Any, run_id: str, *, budget_ms: int, max_rounds: int = 200
    ) -> list[Invocation]:
        """Receive, call the handler, delete what it answered, until the run is final."""
        invocations: list[Invocation] = []
        for _ in range(max_rounds):
            received = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=1,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not received:
                if self.client.store.get_run(run_id).status.is_final:
                    return invocations
                continue
            for message in received:
                delay = message.get("MessageAttributes", {}).get("requested_delay")
                if delay:
                    self.clock.advance(float(delay["StringValue"]))
            context = FakeContext(self.clock, budget_ms)
            started = self.clock.time()
            result = handler({"Records": [sqs_record(m, self.queue_arn) for m in received]}, context)
            invocations.append(Invocation(started, self.clock.time(), context.deadline, result))
            failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
            for message in received:
                if message["MessageId"] not in failed:
                    self.sqs.delete_message(
                        QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                    )
        raise AssertionError(f"run {run_id} did not finish in {max_rounds} rounds")


def http_request(
    event: dict[str, Any],
    method: str,
    path: str,
    body: Any = None,
    *,
    api_key: str,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An HTTP fixture event (any of the four shapes) pointed at another route, with a key."""
    import copy

    event = copy.deepcopy(event)
    if "rawPath" in event:
        event["rawPath"] = path
        event["requestContext"]["http"].update(method=method, path=path)
    else:
        event.update(path=path, httpMethod=method)
    event["headers"] = {**(event.get("headers") or {}), "authorization": f"Bearer {api_key}",
                        "content-type": "application/json", **(headers or {})}  # fmt: skip
    if "multiValueHeaders" in event:
        event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    event["body"] = json.dumps(body) if body is not None else ""
    event["isBase64Encoded"] = False
    return event


def load_event(name: str) -> dict[str, Any]:
    from pathlib import Path

    data: dict[str, Any] = json.loads((Path(__file__).parent / "events" / name).read_text())
    return data


def monotonic_seconds() -> float:
    return time.monotonic()
