"""DynamoDB faults injected into botocore on moto server, driven through the public Client API.

A network failure or an error that outlasts botocore's retries stops the invocation (a
StoreError), never the run; a conditional write whose answer is lost (applied, then retried
by botocore and refused by its own condition) is recognised as ours.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from support.aws import make_dynamodb_store
from support.jobs import make_client
from triggerfish.core import (
    IO,
    Context,
    RunStatus,
    SkippingClock,
    StoreError,
    interval_trigger,
    invoke_trigger,
)
from triggerfish.core.testing import drive


def boto_client(url: str, *, max_attempts: int = 2, **config: Any) -> Any:
    """A DynamoDB client for a fault test: few retries, so a fault outlasts them quickly."""
    import boto3
    from botocore.config import Config

    retries = {"mode": "standard", "max_attempts": max_attempts}
    return boto3.client(
        "dynamodb", endpoint_url=url, region_name="us-east-1",
        config=Config(retries=retries, **config),  # type: ignore[arg-type]
    )  # fmt: skip


class _Body:
    """The raw stream of a canned HTTP answer."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def fault(kind: str, request: Any) -> Any:
    """Raises the botocore exception `kind`, or returns a canned error answer."""
    from botocore import exceptions
    from botocore.awsrequest import AWSResponse

    if kind in ("ThrottlingException", "InternalServerError"):
        status = 400 if kind == "ThrottlingException" else 500
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{kind}",
                           "message": "injected"}).encode()  # fmt: skip
        return AWSResponse(request.url, status, {"x-amzn-RequestId": "injected"}, _Body(body))
    error: type[Exception] = getattr(exceptions, kind)
    raise error(endpoint_url=request.url, error="injected")


async def execute_through_a_fault(
    client: Any, run_id: str, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """One invocation under the fault: it stops on a StoreError naming `kind` (raised, or
    logged when the lease could still be given back), and the run is not final."""
    try:
        outcome = await client.execute(run_id)
    except StoreError as exc:
        assert kind in str(exc)
    else:
        assert not outcome.status.is_final
        assert kind in caplog.text


FAULTS = [
    "EndpointConnectionError",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ConnectionClosedError",
    "ThrottlingException",
    "InternalServerError",
]


@pytest.mark.parametrize("kind", FAULTS)
async def test_a_store_fault_on_a_task_write_stops_the_invocation_and_the_run_resumes(
    moto_url: str, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    db = boto_client(moto_url)
    store = make_dynamodb_store(moto_url, client=db)
    client = make_client(store)
    calls: Counter[str] = Counter()
    armed: list[bool] = []

    def inject(request: Any, **_: Any) -> Any:
        if armed and b"TASK#" in (request.body or b""):
            return fault(kind, request)
        return None

    db.meta.events.register("before-send.dynamodb.PutItem", inject)

    @client.define_job(id="steps", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> list[str]:
        def step(name: str) -> str:
            calls[name] += 1
            if name == "b" and calls[name] == 1:
                armed.append(True)  # b ran; its record will not be written
            return name

        return [await io.run_task(n, lambda n=n: step(n)) for n in ("a", "b", "c")]

    run = await client.invoke("steps", None)
    await execute_through_a_fault(client, run.id, kind, caplog)
    armed.clear()

    assert (await client.get_run(run.id)).status is RunStatus.EXECUTING
    report = await drive(client, run.id)

    assert report.status is RunStatus.COMPLETED
    assert (await client.get_run(run.id)).output == ["a", "b", "c"]
    assert calls == {"a": 1, "b": 2, "c": 1}, "only the task whose record was lost runs again"


@pytest.mark.parametrize("operation", ["GetItem", "Query", "UpdateItem"])
async def test_a_read_timeout_anywhere_in_an_invocation_is_a_store_error(
    moto_url: str, operation: str, caplog: pytest.LogCaptureFixture
) -> None:
    db = boto_client(moto_url)
    clock = SkippingClock()
    client = make_client(make_dynamodb_store(moto_url, client=db), clock=clock)
    armed: list[bool] = []

    def inject(request: Any, **_: Any) -> Any:
        return fault("ReadTimeoutError", request) if armed else None

    db.meta.events.register(f"before-send.dynamodb.{operation}", inject)

    @client.define_job(id="one", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> str:
        await io.wait("pause", seconds=60)
        return str(await io.run_task("a", lambda: "done"))

    run = await client.invoke("one", None)
    if operation != "UpdateItem":  # the first lease is an UpdateItem that reads nothing
        waiting = await client.execute(run.id)
        assert waiting.status is RunStatus.WAITING and waiting.resume_at is not None
        if operation == "Query":  # due again: the lease, then the history's Query
            clock.advance_to(waiting.resume_at)
        # GetItem: woken early, the lease is refused and the run is read to say why
    armed.append(True)
    await execute_through_a_fault(client, run.id, "ReadTimeoutError", caplog)
    armed.clear()

    assert (await client.get_run(run.id)).status is not RunStatus.FAILED
    assert (await drive(client, run.id)).status is RunStatus.COMPLETED


async def test_a_store_on_a_closed_port_answers_store_errors(unused_port: int) -> None:
    url = f"http://127.0.0.1:{unused_port}"
    from triggerfish.core import DynamoDBStore

    db = boto_client(url, max_attempts=1, connect_timeout=1)
    client = make_client(DynamoDBStore("runs", client=db))

    @client.define_job(id="one", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> None:
        return None

    with pytest.raises(StoreError, match="EndpointConnectionError"):
        await client.invoke("one", None)
    with pytest.raises(StoreError, match="EndpointConnectionError"):
        await client.list_runs()
    with pytest.raises(StoreError, match="EndpointConnectionError"):
        await client.tick()


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# -- lost answers -------------------------------------------------------------------------


class LostAnswers:
    """Makes botocore retry each successful conditional write once, as if its answer was lost.

    The first try applied; the retry meets the item it wrote and fails its condition.
    """

    def __init__(self, db: Any) -> None:
        self.lost: Counter[str] = Counter()
        self.armed = True
        db.meta.events.register("needs-retry.dynamodb.*", self._needs_retry)

    def _needs_retry(
        self, response: Any, attempts: int, caught_exception: Any, operation: Any,
        request_dict: dict[str, Any], **_: Any,
    ) -> float | None:  # fmt: skip
        is_conditional = b'"ConditionExpression"' in (request_dict.get("body") or b"")
        answered = response is not None and response[0].status_code == 200
        if self.armed and attempts == 1 and answered and is_conditional:
            self.lost[operation.name] += 1
            return 0.0  # retry at once
        return None


async def test_lost_answers_to_every_conditional_write_change_nothing(moto_url: str) -> None:
    db = boto_client(moto_url)
    store = make_dynamodb_store(moto_url, client=db)
    client = make_client(store)
    lost = LostAnswers(db)
    calls: Counter[str] = Counter()

    @client.define_job(id="limited", trigger=invoke_trigger(), concurrency_limit=1)
    async def job(payload: Any, io: IO, ctx: Context) -> list[str]:
        def step(name: str) -> str:
            calls[f"{payload}:{name}"] += 1
            return name

        first = await io.run_task("a", lambda: step("a"))
        await io.wait("pause", seconds=30)
        second = await io.run_task("b", lambda: step("b"))
        return [first, second]

    first = await client.invoke("limited", 1)
    second = await client.invoke("limited", 2)
    reports = [await drive(client, first.id), await drive(client, second.id)]

    assert [r.status for r in reports] == [RunStatus.COMPLETED, RunStatus.COMPLETED]
    assert calls == {"1:a": 1, "1:b": 1, "2:a": 1, "2:b": 1}
    for run, report in zip((first, second), reports, strict=True):
        finished = await client.get_run(run.id)
        assert finished.output == ["a", "b"]
        assert finished.invocation_count == len(report.invocations)
        assert store.get_run(run.id).lost_leases == 0, "no invocation counted as killed"
    print(dict(lost.lost))
    assert lost.lost["UpdateItem"] >= 6 and lost.lost["PutItem"] >= 6, lost.lost


async def test_a_lost_answer_to_a_schedule_slot_claim_still_starts_the_run(moto_url: str) -> None:
    db = boto_client(moto_url)
    client = make_client(make_dynamodb_store(moto_url, client=db))
    lost = LostAnswers(db)

    @client.define_job(id="tick", trigger=interval_trigger(seconds=60))
    async def job(payload: Any, io: IO, ctx: Context) -> None:
        return None

    started = await client.tick(now=1_800_000_030.0)
    lost.armed = False

    assert len(set(started)) == 1 and lost.lost["PutItem"] >= 2, lost.lost  # slot and run
    assert (await client.get_run(started[0])).status is RunStatus.PENDING
    assert await client.tick(now=1_800_000_031.0) == [started[0]], "the slot fires once"
