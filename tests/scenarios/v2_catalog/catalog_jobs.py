"""Trigger.dev v2's job catalog (references/job-catalog/src/*.ts), ported to Python as a v2
user would write it against triggerfish's API (shared/DESIGN.md, docs/coming-from-v2.md).

Each ``define_<file>(client, ...)`` defines the jobs of one v2 catalog file on `client`;
the tests (test_v2_catalog.py) drive them and check what v2's docs say they do. Where v2
read the environment (an API key, a request-bin URL) the function takes it as an argument;
where a job slept (``setTimeout``) it calls `sleep`, which the tests make a clock skip.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx
from pydantic import BaseModel, RootModel
from triggerfish.core import (
    IO,
    Client,
    Context,
    event_trigger,
    invoke_trigger,
    webhook_trigger,
)
from triggerfish.core.integrations import Integration, integration_task

Sleep = Callable[[float], None]


def _no_sleep(seconds: float) -> None:
    return None


# -- events.ts ---------------------------------------------------------------------------


class ZodSchema(BaseModel):
    userId: str  # v2's field names, as the events carry them
    delay: float


class NoRealTask(BaseModel):
    userId: str


def define_events(client: Client) -> None:
    """events.ts: send/get/cancel events from a run, schemas, cancel runs for an event."""

    @client.define_job(id="event-example-1", name="Event Example 1", version="1.0.0",
                       enabled=True, trigger=event_trigger("event.example"))  # fmt: skip
    async def event_example_1(payload: Any, io: IO, ctx: Context) -> None:
        await io.run_task("task-example-1", lambda: {"message": "Hello World"}, icon="360")
        await io.wait("wait-1", 1)
        io.logger.info("Hello World", ctx=ctx)

    @client.define_job(id="cancel-event-example", name="Cancel Event Example", version="1.0.0",
                       trigger=event_trigger("cancel.event.example"))  # fmt: skip
    async def cancel_event_example(payload: Any, io: IO, ctx: Context) -> None:
        event = await io.send_event(
            "send-event", "Cancellable Event", {"payload": payload, "ctx": ctx},
            id=payload["id"], deliver_at=datetime.now(UTC) + timedelta(hours=24),
        )  # fmt: skip
        await io.get_event("get-event", event["id"])
        await io.wait("wait-1", 60)
        await io.cancel_event("cancel-event", event["id"])
        await io.get_event("get-event-2", event["id"])

    @client.define_job(id="zod-schema", name="Job with Zod Schema", version="0.0.2",
                       trigger=event_trigger("zod.schema", schema=ZodSchema))  # fmt: skip
    async def zod_schema(payload: ZodSchema, io: IO, ctx: Context) -> None:
        io.logger.info("Hello World", ctx=ctx, payload=payload)

    @client.define_job(id="no-real-task", name="No real Task", version="0.0.1",
                       trigger=event_trigger("no.real.task", schema=NoRealTask))  # fmt: skip
    async def no_real_task(payload: NoRealTask, io: IO, ctx: Context) -> None:
        io.logger.info("Hello World", ctx=ctx, payload=payload)
        await io.wait("Wait 1 sec", 1)

    @client.define_job(id="cancel-runs-example", name="Cancel Runs Example", version="1.0.0",
                       trigger=event_trigger("cancel.runs.example"))  # fmt: skip
    async def cancel_runs_example(payload: Any, io: IO, ctx: Context) -> None:
        event = await io.send_event("send-event", "foo.bar", {"payload": payload, "ctx": ctx},
                                    id=payload["id"])  # fmt: skip
        await io.wait("wait-1", 1)

        async def cancel_runs() -> list[str]:
            return await client.cancel_runs_for_event(event["id"])

        await io.run_task("cancel-runs", cancel_runs)

    for job_id, name in (("foo-bar-example", "Foo Bar Example"),
                         ("foo-bar-example-2", "Foo Bar Example 2")):  # fmt: skip

        @client.define_job(id=job_id, name=name, version="1.0.0", trigger=event_trigger("foo.bar"))
        async def foo_bar(payload: Any, io: IO, ctx: Context) -> None:
            io.logger.info("Hello World", ctx=ctx, payload=payload)
            await io.wait("wait-1", 10)
            io.logger.info("Hello World 2", ctx=ctx, payload=payload)

    @client.define_job(id="retry-with-failed-errors", name="Retry with failed errors",
                       version="1.0.0", trigger=event_trigger("foo.bar"))  # fmt: skip
    async def retry_with_failed_errors(payload: Any, io: IO, ctx: Context) -> Any:
        io.logger.info("Hello World", ctx=ctx, payload=payload)

        def task() -> dict[str, str]:
            if random.random() > 0.5:
                raise RuntimeError("Failed on purpose")
            return {"message": "Hello World"}

        return await io.run_task("task-example-1", task)

    @client.define_job(id="same-event-id", name="Save event id", version="1.0.0",
                       trigger=event_trigger("same.event.id"))  # fmt: skip
    async def same_event_id(payload: Any, io: IO, ctx: Context) -> None:
        await io.send_event("send-event", "same.event.child", {"payload": payload, "ctx": ctx},
                            id=payload["id"])  # fmt: skip
        await io.send_event("send-event-2", "same.event.child", {"payload": payload, "ctx": ctx},
                            id=payload["id"])  # fmt: skip

    @client.define_job(id="same-event-id-child", name="Save event id: child", version="1.0.0",
                       trigger=event_trigger("same.event.child"))  # fmt: skip
    async def same_event_id_child(payload: Any, io: IO, ctx: Context) -> None:
        io.logger.info(f"payloadId: {payload.get('id')}")


# -- built-ins.ts ------------------------------------------------------------------------


class WaitedEvent(BaseModel):
    jobId: str
    foo: str
    ts: datetime


class Screenshot(BaseModel):
    url: str = "https://trigger.dev"


def define_built_ins(client: Client, *, screenshot_api: str = "", api_url: str = "",
                     api_key: str = "",
                     context_of: Callable[[Context], Any] = lambda ctx: ctx) -> None:  # fmt: skip
    """built-ins.ts: random, delays, request waits, event waits, sending events, polling.

    `context_of(ctx)` is what send-wait-for-event passes as an event's context (v2: ctx).
    """

    @client.define_job(id="random-example", name="Random Example", version="1.0.0",
                       enabled=True, trigger=event_trigger("random.example"))  # fmt: skip
    async def random_example(payload: Any, io: IO, ctx: Context) -> None:
        await io.random("random-native")
        await io.random("random-min-max", min=10, max=20)
        await io.random("random-min", min=0.5)
        await io.random("random-max", max=100)
        await io.random("random-round", min=100, max=1000, round=True)
        await io.random("random-round-float", min=0.9, max=2.5, round=True)
        await io.random("random-negative", min=-100, max=-50)
        await io.random("random-warn-bounds", min=10, max=10)
        await io.random("random-error", min=10, max=5)

    @client.define_job(id="delays-example-1", name="Delays Example 1", version="1.0.0",
                       trigger=event_trigger("delays.example"))  # fmt: skip
    async def delays_example_1(payload: Any, io: IO, ctx: Context) -> None:
        await io.wait("wait-1", 60)

    @client.define_job(id="delays-example-2", name="Delays Example 2 - Long Delay",
                       version="1.0.0", trigger=event_trigger("delays.example.long"))  # fmt: skip
    async def delays_example_2(payload: Any, io: IO, ctx: Context) -> None:
        await io.wait("wait-1", 60 * 30)

    @client.define_job(id="wait-for-request-example", name="Wait for Request Example",
                       version="1.0.0", trigger=invoke_trigger())  # fmt: skip
    async def wait_for_request_example(payload: Any, io: IO, ctx: Context) -> None:
        result = await io.wait_for_request(
            "wait-for-request", lambda url: print("Waiting for request", url), timeout=60
        )
        io.logger.info("first request", result=result)
        await io.wait_for_request(
            "wait-for-request-2", lambda url: print("Waiting for request 2", url), timeout=10
        )

    @client.define_job(id="screenshot-one-example", name="Screenshot One Example",
                       version="1.0.0", trigger=invoke_trigger(schema=Screenshot))  # fmt: skip
    async def screenshot_one_example(payload: Screenshot, io: IO, ctx: Context) -> Any:
        async def take(url: str) -> None:
            async with httpx.AsyncClient() as http:
                await http.post(f"{screenshot_api}/take", json={
                    "access_key": "screenshot-one-key", "url": payload.url, "store": "true",
                    "storage_path": "my-screeshots", "response_type": "json", "async": "true",
                    "webhook_url": url, "storage_return_location": "true",
                })  # fmt: skip

        return await io.wait_for_request("screenshot-one", take, timeout=300)

    @client.define_job(id="polling-run", name="Background Poll Run", version="1.0.0",
                       trigger=invoke_trigger())  # fmt: skip
    async def polling_run(payload: Any, io: IO, ctx: Context) -> Any:
        await io.wait("wait", 30)
        return {"foo": "bar"}

    @client.define_job(id="background-poll", name="Background Poll Example", version="1.0.0",
                       trigger=invoke_trigger())  # fmt: skip
    async def background_poll(payload: Any, io: IO, ctx: Context) -> Any:
        run = await io.invoke("invoke", "polling-run")
        # v2's io.backgroundPoll(interval=10, timeout=300, responseFilter status 200 and
        # body.status SUCCESS): docs/coming-from-v2.md spells it as a loop of fetches.
        for n in range(300 // 10):
            answer = await io.background_fetch(
                f"poll-{n}", f"{api_url}/api/runs/{run['id']}",
                headers={"Accept": "application/json", "Authorization": f"Bearer {api_key}"},
            )  # fmt: skip
            if answer["status"] == 200 and answer["json"]["status"] == "COMPLETED":
                return answer["json"]["output"]
            await io.wait(f"pause-{n}", seconds=10)
        raise TimeoutError("polling-run did not complete within 300 s")

    @client.define_job(id="send-wait-for-event", name="Send Wait for Event Example",
                       version="1.0.0", trigger=invoke_trigger())  # fmt: skip
    async def send_wait_for_event(payload: Any, io: IO, ctx: Context) -> None:
        await io.wait("wait", 1)
        await io.send_event("send-event", "wait.for.event",
                            {"jobId": "wait-for-event", "foo": "bar", "ts": datetime.now(UTC)},
                            context=context_of(ctx))  # fmt: skip
        await io.send_event("send-event-1", "wait.for.event", payload, context=context_of(ctx))

    @client.define_job(id="send-event-example", name="Send Event Example", version="1.0.0",
                       trigger=event_trigger("send.event"))  # fmt: skip
    async def send_event_example(payload: Any, io: IO, ctx: Context) -> None:
        await io.send_event("send-event", "test.event")

    @client.define_job(id="wait-for-event", name="Wait for Event Example", version="1.0.0",
                       trigger=invoke_trigger())  # fmt: skip
    async def wait_for_event(payload: Any, io: IO, ctx: Context) -> Any:
        await io.invoke("invoke", "send-wait-for-event",
                        {"jobId": "send-wait-for-event", "foo": "bar", "ts": datetime.now(UTC)})
        event = await io.wait_for_event("wait", "wait.for.event", schema=WaitedEvent,
                                        filter={"jobId": ["send-wait-for-event"]}, timeout=60)
        io.logger.info("Event received", event=event, tsType=type(event.payload.ts).__name__,
                       timestampType=type(event.timestamp).__name__)  # fmt: skip
        return {"id": event.id, "payload": event.payload.model_dump(mode="json"),
                "context": event.context, "ts_type": type(event.payload.ts).__name__,
                "timestamp_type": type(event.timestamp).__name__}  # fmt: skip

    @client.define_job(id="send-events-example", name="Send Multiple Events Example",
                       version="1.0.0", trigger=event_trigger("send.events"))  # fmt: skip
    async def send_events_example(payload: Any, io: IO, ctx: Context) -> None:
        await io.send_events("send-events", [
            {"name": "test.event", "payload": {"count": 1}},
            {"name": "test.event", "payload": {"count": 2}},
        ], deliver_after=10)  # fmt: skip

    @client.define_job(id="receive-test-events", name="Receive Test Events", version="1.0.0",
                       trigger=event_trigger("test.event"))  # fmt: skip
    async def receive_test_events(payload: Any, io: IO, ctx: Context) -> Any:
        return payload


# -- invoke.ts ---------------------------------------------------------------------------


class InvokeExample(BaseModel):
    message: str
    forceError: bool = False
    delay: float = 5


class ExampleJob(BaseModel):
    userId: str
    tier: Literal["free", "pro"]


def define_invoke(client: Client, *, json_url: str, request_bin_url: str,
                  sleep: Sleep = _no_sleep) -> None:  # fmt: skip
    """invoke.ts: statuses, fire-and-forget invokes, a callback URL, invoke-and-wait, batches."""

    @client.define_job(id="invoke-example-1", name="Invoke Example 1", version="1.0.0",
                       enabled=True, trigger=invoke_trigger(schema=InvokeExample))  # fmt: skip
    async def invoke_example_1(payload: InvokeExample, io: IO, ctx: Context) -> Any:
        generating_memes = await io.create_status(
            "status-1", label="Generating memes", state="loading", data={"progress": 0.1}
        )
        await io.run_task("task-1", lambda: sleep(1))
        await io.wait("wait-1", payload.delay)

        def task_2() -> list[dict[str, Any]]:
            sleep(1)
            return [{"hello": "there", "ts": datetime.now(UTC).isoformat()}]

        await io.run_task("task-2", task_2)
        await generating_memes.update("middle-generation", state="success", data={
            "progress": 1, "urls": ["https://media.giphy.com/media/13HgwGsXF0aiGY/giphy.gif"],
        })  # fmt: skip
        if payload.forceError:
            raise RuntimeError("Forced error")

        async def fetch_json() -> Any:
            async with httpx.AsyncClient() as http:
                return (await http.get(json_url)).json()

        return await io.run_task("fetch-json", fetch_json)

    @client.define_job(id="invoke-example-2", name="Invoke Example 2", version="1.0.0",
                       enabled=True, trigger=invoke_trigger())  # fmt: skip
    async def invoke_example_2(payload: Any, io: IO, ctx: Context) -> Any:
        await io.invoke("invoke", "invoke-example-1", {"message": "Hello World 1"})
        await io.invoke("invoke-with-url", "invoke-example-1", {"message": "Hello World 2"},
                        callback_url=request_bin_url)  # fmt: skip
        result = await io.invoke_and_wait(
            "invoke-and-wait", "invoke-example-1",
            {"message": "Hello World 3", "forceError": True}, raise_on_failure=False,
        )  # fmt: skip
        if result["ok"]:
            io.logger.info("Invoking job worked!", result=result)
        else:
            io.logger.error("Invoking job failed!", result=result)
        return result

    @client.define_job(id="simple-invoke-example-1", name="Simple Invoke Example 1",
                       version="1.0.0", enabled=True, trigger=invoke_trigger())  # fmt: skip
    async def simple_invoke_example_1(payload: Any, io: IO, ctx: Context) -> Any:
        return payload

    @client.define_job(id="batch-invoke-example", name="Batch Invoke Example", version="1.0.0",
                       trigger=invoke_trigger())  # fmt: skip
    async def batch_invoke_example(payload: Any, io: IO, ctx: Context) -> Any:
        # v2's job.batchInvokeAndWaitForCompletion(key, [{payload}]): io.parallel of
        # invoke_and_wait (docs/coming-from-v2.md); results in item order, v2's {ok, output}.
        first = await io.parallel(
            "batch-invoke-and-wait",
            [{"message": f"Hello World {i}", "delay": 7 if i % 2 == 0 else 20} for i in range(2)],
            lambda item: io.invoke_and_wait("invoke", "invoke-example-1", item,
                                            raise_on_failure=False),
        )  # fmt: skip
        simple = await io.parallel(
            "batch-invoke-and-wait-simple", [{"message": f"Hello World {i}"} for i in range(25)],
            lambda item: io.invoke_and_wait("invoke", "simple-invoke-example-1", item,
                                            raise_on_failure=False),
        )  # fmt: skip
        second = await io.parallel(
            "batch-invoke-and-wait-2", [{"message": f"Hello World {i}"} for i in range(2)],
            lambda item: io.invoke_and_wait("invoke", "simple-invoke-example-1", item,
                                            raise_on_failure=False),
        )  # fmt: skip
        return {"first": first, "simple": simple, "second": second}

    @client.define_job(id="example-job", name="Example job", version="1.0.1",
                       trigger=invoke_trigger(schema=ExampleJob))  # fmt: skip
    async def example_job(payload: ExampleJob, io: IO, ctx: Context) -> Any:
        return payload.model_dump()

    @client.define_job(id="example-job2", name="Example job 2", version="1.0.1",
                       trigger=invoke_trigger())  # fmt: skip
    async def example_job2(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.invoke("⚡", "example-job", {"userId": "123", "tier": "free"})


# -- canceling.ts ------------------------------------------------------------------------


class Number(RootModel[int]):
    """v2's ``z.number()`` payload: a bare number."""


def define_canceling(client: Client) -> None:
    """canceling.ts: 25 fire-and-forget invokes, then cancel every run of that job."""

    @client.define_job(id="cancel-this-job", name="Canceling: this job", version="1.0.0",
                       trigger=invoke_trigger(schema=Number))  # fmt: skip
    async def cancel_this_job(payload: Number, io: IO, ctx: Context) -> None:
        io.logger.info(f"Hello World {payload.root}")
        await io.wait("wait", 30)

    @client.define_job(id="canceling-starter", name="Canceling: start", version="1.0.0",
                       enabled=True, trigger=event_trigger("event.example"))  # fmt: skip
    async def canceling_starter(payload: Any, io: IO, ctx: Context) -> Any:
        for i in range(25):
            await io.invoke(f"invoke-{i}", "cancel-this-job", i)
        result = await client.cancel_runs(job_id="cancel-this-job")
        io.logger.info(f"Canceled {len(result)} runs", result=result)
        return result


# -- status.ts ---------------------------------------------------------------------------


def define_status(client: Client) -> None:
    """status.ts: a status created, updated twice across waits, read back by the client."""

    @client.define_job(id="status", name="Status: updating status", version="0.0.2",
                       trigger=event_trigger("status"))  # fmt: skip
    async def status(payload: Any, io: IO, ctx: Context) -> None:
        generating_text = await io.create_status(
            "generating-images", label="Generating Images", state="loading",
            data={"progress": 0.1},
        )  # fmt: skip
        await io.wait("wait", 2)
        await generating_text.update("middle-generation",
                                     data={"progress": 0.5, "urls": ["http://www."]})
        await io.wait("wait-again", 2)
        await generating_text.update("completed-generation", label="Generated images",
                                     state="success",
                                     data={"progress": 1.0, "urls": ["http://www."] * 3})
        await io.run_task("get statuses", lambda: client.get_run_statuses(ctx.run.id))
        await io.run_task("get run", lambda: client.get_run(ctx.run.id))


# -- redacted.ts -------------------------------------------------------------------------

CHARGE_EVENT: dict[str, Any] = {
    "id": "evt_3NYWgVI0XSgju2ur0PN22Hsu", "object": "event", "api_version": "2022-11-15",
    "data": {"object": {
        "id": "ch_3NYWgVI0XSgju2ur0C2UzeKC", "object": "charge", "amount": 1500,
        "balance_transaction": "txn_3NYWgVI0XSgju2ur0qujz4Kc",
        "billing_details": {"address": {"city": None, "country": None}, "email": None,
                            "name": None, "phone": None},
        "currency": "usd", "customer": "cus_OLD6IR3D8CJasG",
        "payment_method_details": {"card": {"brand": "visa", "last4": "4242"}, "type": "card"},
        "status": "succeeded",
    }},
    "type": "charge.succeeded",
}  # fmt: skip
"""A Stripe charge event, shortened from v2's example (the paths redacted are kept)."""


def define_redacted(client: Client, *, seen: list[Any]) -> None:
    """redacted.ts: a task output whose card details are redacted where stored and shown."""

    @client.define_job(id="redaction-example-1", name="Redaction Example 1", version="1.0.0",
                       enabled=True, trigger=event_trigger("redaction.example"))  # fmt: skip
    async def redaction_example_1(payload: Any, io: IO, ctx: Context) -> None:
        result = await io.run_task(  # type: ignore[call-arg]
            "task-example-1", lambda: CHARGE_EVENT,
            redact={"paths": ["data.object.balance_transaction", "data.object.billing_details",
                              "data.object.this_does_not_exist", "data.object.$$$$hello"]},
        )  # fmt: skip
        seen.append(result)
        io.logger.info("Log.1", ctx=ctx, result=result)
        await io.wait("wait-1", 1)
        io.logger.info("Log.2", ctx=ctx, result=result)


# -- background-fetch.ts -----------------------------------------------------------------


class FetchRetry(BaseModel):
    url: str
    method: str | None = None
    headers: dict[str, str] | None = None
    body: Any = None
    retry: Any = None


class FetchUrl(BaseModel):
    url: str


def define_background_fetch(client: Client) -> None:
    """background-fetch.ts: a fetch whose retries are given by status, as v2 did."""

    @client.define_job(id="test-background-fetch-retry", name="Test background fetch retry",
                       version="0.0.1",
                       trigger=event_trigger("test.background-fetch.retry",
                                             schema=FetchRetry))  # fmt: skip
    async def test_background_fetch_retry(payload: FetchRetry, io: IO, ctx: Context) -> Any:
        return await io.background_fetch(
            "fetch", payload.url, method=payload.method or "GET", headers=payload.headers,
            body=json.dumps(payload.body) if payload.body else None, retry=payload.retry,
        )  # fmt: skip

    @client.define_job(id="test-background-fetch", name="Test background fetch",
                       version="0.0.1",
                       trigger=event_trigger("test.background-fetch", schema=FetchUrl))
    async def test_background_fetch(payload: FetchUrl, io: IO, ctx: Context) -> Any:
        return await io.background_fetch("fetch", payload.url)


# -- byo-auth.ts -------------------------------------------------------------------------


class Recorder(Integration):
    """A stand-in for an SDK: records each call with the token it was authenticated with."""

    def __init__(self, name: str, calls: list[dict[str, Any]],
                 connection: str | None = None) -> None:  # fmt: skip
        self.name = name
        self.calls = calls
        self.connection = connection

    def record(self, method: str, **arguments: Any) -> dict[str, Any]:
        call = {"integration": self.name, "method": method, "token": self.credentials["token"],
                **arguments}  # fmt: skip
        self.calls.append(call)
        return call


class Slack(Recorder):
    @integration_task
    def post_message(self, *, channel: str, text: str) -> dict[str, Any]:
        return self.record("postMessage", channel=channel, text=text)


class Resend(Recorder):
    @integration_task
    def send_email(self, *, subject: str, text: str, to: str, from_: str) -> dict[str, Any]:
        return self.record("sendEmail", subject=subject, to=to, sender=from_)


class Stripe(Recorder):
    def retrieve_subscription(self, id: str) -> dict[str, Any]:
        return self.record("subscriptions.retrieve", id=id)


class GitHub(Recorder):
    @integration_task
    def create_comment(self, *, owner: str, repo: str, issue_number: int,
                       body: str) -> dict[str, Any]:  # fmt: skip
        return self.record("issues.createComment", owner=owner, repo=repo,
                           issue_number=issue_number)  # fmt: skip


def byo_auth_resolvers(tokens: dict[str, str]) -> dict[str, Any]:
    """v2's client.defineAuthResolver(...) calls, as `Client(auth_resolvers=...)`."""

    def api_key(name: str) -> Any:
        return lambda ctx, integration: {"type": "apiKey", "token": tokens[name]}

    def slack(ctx: Context, integration: Any) -> Any:
        account_id = ctx.event.context.get("account_id") if ctx.event else None
        if not account_id:  # v2 read ctx.account.id; here the sender's event context
            return None
        found = [t for account, t in tokens.items() if account == f"slack:{account_id}"]
        if not found:
            raise LookupError(f"Could not find Slack auth for account {account_id}")
        return {"type": "oauth", "token": found[0]}

    return {"resend": api_key("resend"), "stripe": api_key("stripe"), "slack": slack,
            "openai": api_key("openai")}  # fmt: skip


def define_byo_auth(client: Client, *, calls: list[dict[str, Any]]) -> None:
    """byo-auth.ts: integrations authenticated by the client's auth resolvers, and a
    webhook-started job whose GitHub integration uses a stored connection."""

    @client.define_job(id="send-account-event", name="Send Account Event", version="1.0.0",
                       enabled=True, trigger=event_trigger("foo.bar"),
                       integrations={"resend": Resend("resend", calls),
                                     "stripe": Stripe("stripe", calls),
                                     "slack": Slack("slack", calls),
                                     "openai": Recorder("openai", calls)})  # fmt: skip
    async def send_account_event(payload: Any, io: IO, ctx: Context) -> None:
        io.logger.info("Sending email with context", ctx=ctx)
        await io.integrations["slack"].post_message(  # type: ignore[attr-defined]
            "💬", channel="C04GWUTDC3W", text="This is from an auth resolver")
        await io.integrations["stripe"].run_task(
            "🤑", lambda stripe: stripe.retrieve_subscription(id="1234"))
        await io.integrations["resend"].send_email(  # type: ignore[attr-defined]
            "📧", subject="Hello there", text="This is an email", to="eric@trigger.dev",
            from_="hi@email.trigger.dev",
        )  # fmt: skip

    # v2's dynamic trigger on GitHub's issue-opened webhook: here a webhook trigger the
    # repository's webhook points at, filtered to opened issues (coming-from-v2.md).
    @client.define_job(id="dynamic-issue-opened", name="Dynamic Issue Opened for Account",
                       version="0.0.1",
                       trigger=webhook_trigger("github-issues", secret="gh-secret",
                                               filter={"body": {"action": ["opened"]}}),
                       integrations={"github": GitHub("github", calls,
                                                      connection="github-byoa")})  # fmt: skip
    async def dynamic_issue_opened(payload: Any, io: IO, ctx: Context) -> None:
        await io.integrations["github"].create_comment(  # type: ignore[attr-defined]
            "create-issue-comment", owner=payload["repository"]["owner"]["login"],
            repo=payload["repository"]["name"], issue_number=payload["issue"]["number"],
            body=f"Hello there: \n\n```json\n{json.dumps(payload, indent=2)}```",
        )  # fmt: skip


def define_dynamic_schedule(client: Client) -> None:
    """byo-auth.ts's dynamic interval: a run registers a schedule that starts another job."""

    @client.define_job(id="use-interval", name="Use Interval", version="0.0.1",
                       trigger=invoke_trigger())  # v2: trigger: dynamicInterval  # fmt: skip
    async def use_interval(payload: Any, io: IO, ctx: Context) -> None:
        io.logger.info("Running interval", ctx=ctx)

    @client.define_job(id="register-interval", name="Register Interval for Account",
                       version="0.0.1", trigger=event_trigger("register.interval"))  # fmt: skip
    async def register_interval(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.run_task("register", lambda: client.create_schedule(
            "use-interval", interval=payload["seconds"], id="schedule_1235"))


# -- httpTrigger.ts ----------------------------------------------------------------------


def signature_check(header: str, *, prefix: str = "") -> Any:
    """v2's verifyRequestSignature({headerName, secret, algorithm: "sha256"})."""

    def verify(body: bytes, headers: Any, secret: str) -> bool:
        expected = prefix + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, headers.get(header, ""))

    return verify


def define_http_trigger(client: Client, *, seen: list[Any]) -> None:
    """httpTrigger.ts: HTTP endpoints with several jobs each, filtered on the body."""

    def define(job_id: str, name: str, endpoint: str, header: str, prefix: str = "",
               filter: dict[str, Any] | None = None) -> None:  # fmt: skip
        trigger = webhook_trigger(endpoint, secret=f"{endpoint}-secret", filter=filter,
                                  verify=signature_check(header, prefix=prefix))  # fmt: skip

        @client.define_job(id=job_id, name=name, version="1.0.0", enabled=True, trigger=trigger)
        async def run(request: Any, io: IO, ctx: Context) -> None:
            seen.append((job_id, request))
            io.logger.info("Body", body=request)

    define("http-caldotcom", "HTTP Cal.com", "cal.com", "X-Cal-Signature-256")
    define("http-caldotcom-cancellations", "HTTP Cal.com cancellations", "cal.com",
           "X-Cal-Signature-256", filter={"body": {"triggerEvent": ["BOOKING_CANCELLED"]}})
    define("http-github", "HTTP GitHub", "github.com", "x-hub-signature-256", prefix="sha256=",
           filter={"body": {"action": ["labeled"]}})


# -- auto-yield.ts -----------------------------------------------------------------------


def define_auto_yield(client: Client, *, sleep: Sleep) -> None:
    """auto-yield.ts: tasks that outlast an invocation; each POSTs its idempotency key."""

    @client.define_job(id="auto-yield-1", name="Auto Yield 1", version="1.0.0",
                       trigger=event_trigger("auto.yield.1"))  # fmt: skip
    async def auto_yield_1(payload: Any, io: IO, ctx: Context) -> None:
        def initial_long_task() -> dict[str, str]:
            sleep(51)
            return {"message": "initial-long-task"}

        await io.run_task("initial-long-task", initial_long_task)
        for i in range(payload["iterations"]):

            def task(task: Any, i: int = i) -> dict[str, Any]:
                pause = random.randint(250, 1249)
                sleep(pause / 1000)
                httpx.post(payload["url"], json={"message": f"task.{i}", "random": pause,
                                                 "idempotencyKey": task.idempotency_key,
                                                 "runId": ctx.run.id})  # fmt: skip
                return {"message": f"task.{i}", "random": pause}

            await io.run_task(f"task.{i}", task)


# -- edge-cases.ts -----------------------------------------------------------------------


def _read_this_file() -> str:
    with open(__file__) as file:
        return file.read()


def define_edge_cases(client: Client) -> None:
    """edge-cases.ts: task outputs of every JSON-ish type come back as they went in."""

    @client.define_job(id="task-output-edge-cases", name="Task Output Edge Cases",
                       version="1.0.0", trigger=invoke_trigger())  # fmt: skip
    async def task_output_edge_cases(payload: Any, io: IO, ctx: Context) -> Any:
        checks = {
            "undefined": (lambda: None, lambda r: r is None),
            "null": (lambda: None, lambda r: r is None),
            "false": (lambda: False, lambda r: r is False),
            "true": (lambda: True, lambda r: r is True),
            "date": (lambda: datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
                     lambda r: r == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
            "object": (lambda: {"a": 1, "b": "2", "c": True, "e": None},
                       lambda r: r == {"a": 1, "b": "2", "c": True, "e": None}),
            "array": (lambda: [1, "2", True, None], lambda r: r == [1, "2", True, None]),
            "read-file": (_read_this_file, lambda r: isinstance(r, str)),
        }  # fmt: skip
        for key, (fn, check) in checks.items():
            result = await io.run_task(key, fn)
            if not check(result):
                raise TypeError(f"{key}: unexpected {type(result).__name__}: {result!r}")
        await io.wait("wait-1", 1)
        return sorted(checks)


# -- concurrency limits (v2 docs, limits.mdx and defineConcurrencyLimit) -------------------


def define_concurrency(client: Client, *, work: Callable[[str], Any]) -> None:
    """Two jobs sharing one limit of 5 concurrent executions (v2's defineConcurrencyLimit),
    and a third with its own limit of 5; `work(job_id)` is each run's (awaitable) task."""
    concurrency_limit = client.define_concurrency_limit(id="test-shared", limit=5)
    for job_id, name in (("test-job-1", "Test Job 1"), ("test-job-2", "Test Job 2")):

        @client.define_job(id=job_id, name=name, version="1.0.0", trigger=event_trigger("test"),
                           concurrency_limit=concurrency_limit)  # fmt: skip
        async def run(payload: Any, io: IO, ctx: Context, job_id: str = job_id) -> None:
            await io.run_task("work", lambda: work(job_id))

    @client.define_job(id="test-job-3", name="Test Job 3", version="1.0.0",
                       trigger=event_trigger("test"), concurrency_limit=5)  # fmt: skip
    async def own_limit(payload: Any, io: IO, ctx: Context) -> None:
        await io.run_task("work", lambda: work("test-job-3"))


RETRY_BY_STATUS: dict[str, Any] = {
    "500-599": {"strategy": "backoff", "limit": 3, "minTimeoutInMs": 1000, "factor": 2},
}
"""v2's background fetch retry option: statuses to a retry strategy."""
