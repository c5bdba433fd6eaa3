"""Trigger.dev v2's own job catalog, ported (catalog_jobs.py), driven to its end and checked
against what v2's docs say each job does, on SQLite and DynamoDB (moto). Issue 16."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from typing import Any

import catalog_jobs as jobs
import httpx
import pytest
from catalog_support import (
    API_KEY,
    make_catalog_client,
    request_bin,
    serve_app,
    settle,
)
from support.http_target import http_target
from support.servers import free_port
from triggerfish.core import IO, Client, Context, RunStatus, event_trigger
from triggerfish.core.testing import drive


@pytest.fixture
def store(sqlite_or_moto_store: Any) -> Any:
    return sqlite_or_moto_store


def tasks_by_key(run: Any) -> dict[str, Any]:
    """Every task of the run (the whole tree) by key; subtasks as ``parent/key``."""
    found: dict[str, Any] = {}

    def walk(tasks: list[Any], prefix: str) -> None:
        for task in tasks:
            found[prefix + task.key] = task
            walk(task.children, f"{prefix}{task.key}/")

    walk(run.tasks, "")
    return found


async def runs_of(client: Client, job_id: str) -> list[Any]:
    listed = await client.list_runs(job_id=job_id, limit=100)
    return [await client.get_run(run.id) for run in listed.runs]


async def only_run(client: Client, job_id: str) -> Any:
    (run,) = await runs_of(client, job_id)
    return run


# -- events.ts ---------------------------------------------------------------------------


async def test_event_example_1_runs_a_task_waits_and_logs(store: Any) -> None:
    client = make_catalog_client(store)
    jobs.define_events(client)
    event = await client.send_event("event.example", {"n": 1})

    report = await drive(client, event.run_ids[0])

    run = await client.get_run(event.run_ids[0])
    assert report.status is RunStatus.COMPLETED and report.suspensions == 1
    task = tasks_by_key(run)["task-example-1"]
    assert (task.output, task.icon) == ({"message": "Hello World"}, "360")
    assert tasks_by_key(run)["wait-1"].status.value == "COMPLETED"
    (line,) = [line for line in run.logs if line.message == "Hello World"]
    assert line.fields["ctx"]["run"]["id"] == run.id
    assert line.fields["ctx"]["event"]["name"] == "event.example"


async def test_cancel_event_example_cancels_its_delayed_event_before_delivery(
    store: Any,
) -> None:
    client = make_catalog_client(store)
    jobs.define_events(client)
    delivered: list[Any] = []

    @client.define_job(id="cancellable-listener", trigger=event_trigger("Cancellable Event"))
    async def listener(payload: Any, io: IO, ctx: Context) -> None:
        delivered.append(payload)

    event = await client.send_event("cancel.event.example", {"id": "evt-cancel-1"})
    await settle(client)
    run = await client.get_run(event.run_ids[0])
    assert run.status is RunStatus.COMPLETED, run.error
    tasks = tasks_by_key(run)
    assert tasks["send-event"].output["id"] == "evt-cancel-1"
    assert tasks["get-event"].output["id"] == "evt-cancel-1"
    assert tasks["get-event"].output["name"] == "Cancellable Event"
    assert tasks["get-event"].output["runs"] == []
    assert tasks["cancel-event"].output["status"] == "canceled"
    assert tasks["get-event-2"].output["status"] == "canceled"

    await settle(client, until=client.clock.time() + 25 * 3600)  # past its deliverAt
    assert delivered == [] and await runs_of(client, "cancellable-listener") == []


async def test_zod_schema_jobs_accept_their_shape_and_refuse_others(store: Any) -> None:
    client = make_catalog_client(store)
    jobs.define_events(client)
    good = await client.send_event("zod.schema", {"userId": "u1", "delay": 5})
    bad = await client.send_event("zod.schema", {"userId": "u1"})
    no_task = await client.send_event("no.real.task", {"userId": "u2"})

    assert (await drive(client, good.run_ids[0])).status is RunStatus.COMPLETED
    assert (await drive(client, no_task.run_ids[0])).status is RunStatus.COMPLETED
    refused = await client.get_run(bad.run_ids[0])
    assert refused.status is RunStatus.INVALID_PAYLOAD and "delay" in json.dumps(refused.error)
    logged = (await client.get_run(good.run_ids[0])).logs[0]
    assert logged.fields["payload"] == {"userId": "u1", "delay": 5}


async def test_cancel_runs_example_cancels_the_runs_its_event_started(store: Any) -> None:
    client = make_catalog_client(store)
    jobs.define_events(client)
    parent = await client.send_event("cancel.runs.example", {"id": "foo-bar-1"})
    parent_id = parent.run_ids[0]

    first = await client.execute(parent_id)  # sends foo.bar, then waits 1 s
    assert first.status is RunStatus.WAITING
    started = await client.store.get_event("foo-bar-1") if False else None  # noqa: F841
    children = {job: await only_run(client, job) for job in
                ("foo-bar-example", "foo-bar-example-2", "retry-with-failed-errors")}
    for child in children.values():
        await client.execute(child.id)  # the foo.bar runs wait 10 s; the third one ends
    await settle(client)

    run = await client.get_run(parent_id)
    assert run.status is RunStatus.COMPLETED, run.error
    canceled = tasks_by_key(run)["cancel-runs"].output
    assert sorted(canceled) == sorted([children["foo-bar-example"].id,
                                       children["foo-bar-example-2"].id])  # fmt: skip
    for job in ("foo-bar-example", "foo-bar-example-2"):
        ended = await only_run(client, job)
        assert ended.status is RunStatus.CANCELED
        assert [line.message for line in ended.logs] == ["Hello World"]
    third = await only_run(client, "retry-with-failed-errors")
    assert third.status in (RunStatus.COMPLETED, RunStatus.FAILED)


async def test_same_event_id_starts_the_child_once(store: Any) -> None:
    client = make_catalog_client(store)
    jobs.define_events(client)
    event = await client.send_event("same.event.id", {"id": "same-1"})
    await settle(client)

    run = await client.get_run(event.run_ids[0])
    assert run.status is RunStatus.COMPLETED, run.error
    tasks = tasks_by_key(run)
    assert tasks["send-event"].output["id"] == tasks["send-event-2"].output["id"] == "same-1"
    child = await only_run(client, "same-event-id-child")
    assert child.status is RunStatus.COMPLETED
    assert [line.message for line in child.logs] == ["payloadId: None"]


# -- built-ins.ts ------------------------------------------------------------------------


async def test_random_example_records_each_number_warns_on_equal_bounds_and_fails_on_inverted(
    store: Any,
) -> None:
    client = make_catalog_client(store)
    jobs.define_built_ins(client)
    event = await client.send_event("random.example")

    report = await drive(client, event.run_ids[0])

    run = await client.get_run(event.run_ids[0])
    assert report.status is RunStatus.FAILED
    assert "min" in run.error["message"] and "max" in run.error["message"]
    out = {key: task.output for key, task in tasks_by_key(run).items()}
    assert 0 <= out["random-native"] < 1 and 10 <= out["random-min-max"] < 20
    assert 0.5 <= out["random-min"] < 1 and 0 <= out["random-max"] < 100
    assert isinstance(out["random-round"], int) and 100 <= out["random-round"] <= 1000
    assert out["random-round-float"] in (1, 2) and -100 <= out["random-negative"] < -50
    assert out["random-warn-bounds"] == 10
    warnings = [line for line in run.logs if line.level.lower().startswith("warn")]
    assert any("10" in line.message for line in warnings), run.logs


@pytest.mark.parametrize(("name", "seconds"), [("delays.example", 60),
                                               ("delays.example.long", 1800)])
async def test_delays_wait_without_an_invocation(store: Any, name: str, seconds: int) -> None:
    client = make_catalog_client(store)
    jobs.define_built_ins(client)
    event = await client.send_event(name)
    before = client.clock.time()

    report = await drive(client, event.run_ids[0])

    assert report.status is RunStatus.COMPLETED
    assert len(report.invocations) == 2 and report.suspensions == 1
    assert client.clock.time() - before >= seconds


async def test_wait_for_request_example_resumes_on_the_post_then_times_out(
    store: Any, capsys: pytest.CaptureFixture[str],
) -> None:
    port = free_port()
    client = make_catalog_client(store, base_url=f"http://127.0.0.1:{port}")
    jobs.define_built_ins(client)
    with serve_app(client, port):
        run = await client.invoke("wait-for-request-example", None)
        assert (await client.execute(run.id)).status is RunStatus.WAITING
        printed = capsys.readouterr().out
        url = printed.split("Waiting for request ", 1)[1].split()[0]
        answer = await asyncio.to_thread(httpx.post, url, json={"message": "hello"})
        assert answer.status_code == 200, answer.text
        await settle(client)

    ended = await client.get_run(run.id)
    assert ended.status is RunStatus.FAILED
    assert ended.error["type"] == "WaitTimeout" and "wait-for-request-2" in json.dumps(ended.error)
    tasks = tasks_by_key(ended)
    assert tasks["wait-for-request"].output == {"message": "hello"}
    assert [line.fields.get("result") for line in ended.logs
            if line.message == "first request"] == [{"message": "hello"}]  # fmt: skip


async def test_screenshot_one_example_gets_the_services_callback(store: Any) -> None:
    port = free_port()
    client = make_catalog_client(store, base_url=f"http://127.0.0.1:{port}")

    def screenshot_service(request: dict[str, Any]) -> dict[str, Any]:
        webhook = request["json"]["webhook_url"]
        shot = {"store": {"location": f"s3://my-screeshots/{request['json']['url']}.png"}}
        threading.Timer(0.1, lambda: httpx.post(webhook, json=shot)).start()
        return {"accepted": True}

    with serve_app(client, port), request_bin(screenshot_service) as (api, calls):
        jobs.define_built_ins(client, screenshot_api=api)
        run = await client.invoke("screenshot-one-example", {})
        assert (await client.execute(run.id)).status is RunStatus.WAITING
        hints = client.dispatcher.count  # type: ignore[union-attr]
        for _ in range(200):  # until the service's callback wakes the run
            if client.dispatcher.count > hints:  # type: ignore[union-attr]
                break
            threading.Event().wait(0.05)
        await settle(client)

    ended = await client.get_run(run.id)
    assert ended.status is RunStatus.COMPLETED, ended.error
    assert ended.output == {"store": {"location": "s3://my-screeshots/https://trigger.dev.png"}}
    assert [call["json"]["url"] for call in calls] == ["https://trigger.dev"]


async def test_background_poll_polls_the_runs_api_until_the_child_completes(store: Any) -> None:
    port = free_port()
    client = make_catalog_client(store)
    jobs.define_built_ins(client, api_url=f"http://127.0.0.1:{port}", api_key=API_KEY)
    with serve_app(client, port):
        run = await client.invoke("background-poll", None)
        await settle(client)

    ended = await client.get_run(run.id)
    assert ended.status is RunStatus.COMPLETED, ended.error
    assert ended.output == {"foo": "bar"}
    polls = [key for key in tasks_by_key(ended) if key.startswith("poll-")]
    assert 3 <= len(polls) <= 5  # every 10 s until the child's 30 s wait ends


@pytest.mark.parametrize("context_of", [
    pytest.param(lambda ctx: ctx, id="context=ctx"),  # v2: `context: ctx`
    pytest.param(lambda ctx: ctx.model_dump(mode="json"), id="context=ctx-as-dict"),
])
async def test_wait_for_event_gets_the_matching_event_parsed_by_its_schema(
    store: Any, context_of: Any,
) -> None:
    client = make_catalog_client(store)
    jobs.define_built_ins(client, context_of=context_of)
    run = await client.invoke("wait-for-event", None)
    await settle(client)

    ended = await client.get_run(run.id)
    sender = await only_run(client, "send-wait-for-event")
    assert sender.status is RunStatus.COMPLETED, sender.error
    assert ended.status is RunStatus.COMPLETED, ended.error
    out = ended.output
    assert out["payload"]["jobId"] == "send-wait-for-event" and out["payload"]["foo"] == "bar"
    assert (out["ts_type"], out["timestamp_type"]) == ("datetime", "datetime")
    assert out["id"] == tasks_by_key(sender)["send-event-1"].output["id"]
    assert out["context"]["run"]["id"] == sender.id  # the sender's ctx travelled with it


async def test_send_event_example_and_send_events_with_a_delay(store: Any) -> None:
    client = make_catalog_client(store)
    jobs.define_built_ins(client)
    single = await client.send_event("send.event")
    await settle(client)
    (received,) = await runs_of(client, "receive-test-events")
    assert received.status is RunStatus.COMPLETED and received.payload is None
    assert (await client.get_run(single.run_ids[0])).status is RunStatus.COMPLETED

    many = await client.send_event("send.events")
    sent_at = client.clock.time()
    await drive(client, many.run_ids[0])
    assert len(await runs_of(client, "receive-test-events")) == 1, "not before 10 s"
    await settle(client, until=sent_at + 11)
    counts = sorted(run.payload["count"] for run in await runs_of(client, "receive-test-events")
                    if run.payload)  # fmt: skip
    assert counts == [1, 2]


# -- invoke.ts ---------------------------------------------------------------------------


@pytest.fixture
def json_target() -> Iterator[str]:
    with http_target() as (url, _hits):
        yield f"{url}/j/PjHo1o5MVeH4.json"


async def test_invoke_example_2_invokes_with_a_callback_and_waits_for_a_failing_child(
    store: Any, json_target: str,
) -> None:
    client = make_catalog_client(store)
    with request_bin() as (bin_url, posted):
        jobs.define_invoke(client, json_url=json_target, request_bin_url=bin_url)
        run = await client.invoke("invoke-example-2", None)
        await settle(client)

    ended = await client.get_run(run.id)
    assert ended.status is RunStatus.COMPLETED, ended.error
    result = ended.output
    assert result["ok"] is False and "Forced error" in result["error"]["message"]
    assert [line.message for line in ended.logs if line.level.lower() == "error"] == [
        "Invoking job failed!"
    ]
    children = {run.payload["message"]: run for run in await runs_of(client, "invoke-example-1")}
    assert set(children) == {"Hello World 1", "Hello World 2", "Hello World 3"}
    done = children["Hello World 1"]
    assert done.status is RunStatus.COMPLETED and done.output["path"] == "/j/PjHo1o5MVeH4.json"
    (status,) = done.statuses
    assert (status.key, status.label, status.state) == ("status-1", "Generating memes", "success")
    assert status.data["progress"] == 1 and len(status.history) == 1  # earlier values, as v2
    assert children["Hello World 3"].status is RunStatus.FAILED
    (callback,) = posted
    assert callback["json"]["id"] == children["Hello World 2"].id
    assert callback["json"]["status"] == "COMPLETED" and "output" in callback["json"]


async def test_batch_invoke_example_returns_each_childs_result_in_order(
    store: Any, json_target: str,
) -> None:
    client = make_catalog_client(store)
    jobs.define_invoke(client, json_url=json_target, request_bin_url="http://127.0.0.1:9/")
    run = await client.invoke("batch-invoke-example", None)
    await settle(client)

    ended = await client.get_run(run.id)
    assert ended.status is RunStatus.COMPLETED, ended.error
    out = ended.output
    assert [r["ok"] for r in out["first"]] == [True, True]
    assert [r["output"]["message"] for r in out["simple"]] == [
        f"Hello World {i}" for i in range(25)
    ]
    assert [r["output"] for r in out["second"]] == [{"message": "Hello World 0"},
                                                    {"message": "Hello World 1"}]  # fmt: skip
    assert len(await runs_of(client, "simple-invoke-example-1")) == 27


async def test_example_job2_invokes_under_an_emoji_key(store: Any) -> None:
    client = make_catalog_client(store)
    jobs.define_invoke(client, json_url="http://127.0.0.1:9/", request_bin_url="http://127.0.0.1:9/")
    run = await client.invoke("example-job2", None)
    await settle(client)

    ended = await client.get_run(run.id)
    assert ended.status is RunStatus.COMPLETED, ended.error
    child = await only_run(client, "example-job")
    assert ended.output == {"id": child.id} and "⚡" in tasks_by_key(ended)
    assert child.status is RunStatus.COMPLETED and child.output == {"userId": "123",
                                                                    "tier": "free"}


# -- canceling.ts ------------------------------------------------------------------------


async def test_canceling_starter_cancels_every_run_of_the_job(store: Any) -> None:
    client = make_catalog_client(store)
    jobs.define_canceling(client)
    event = await client.send_event("event.example")
    starter = await client.execute(event.run_ids[0])

    assert starter.status is RunStatus.COMPLETED
    run = await client.get_run(event.run_ids[0])
    assert len(run.output) == 25 and run.logs[-1].message == "Canceled 25 runs"
    canceled = await runs_of(client, "cancel-this-job")
    assert len(canceled) == 25 and {r.status for r in canceled} == {RunStatus.CANCELED}


# -- status.ts ---------------------------------------------------------------------------


async def test_status_job_updates_its_status_and_reads_it_back(store: Any) -> None:
    client = make_catalog_client(store)
    jobs.define_status(client)
    event = await client.send_event("status")

    report = await drive(client, event.run_ids[0])

    run = await client.get_run(event.run_ids[0])
    assert report.status is RunStatus.COMPLETED, run.error
    statuses = tasks_by_key(run)["get statuses"].output
    assert statuses["run"]["id"] == run.id and statuses["run"]["status"] == "EXECUTING"
    (status,) = statuses["statuses"]
    assert (status["key"], status["label"], status["state"]) == (
        "generating-images", "Generated images", "success")
    assert status["data"] == {"progress": 1.0, "urls": ["http://www."] * 3}
    assert [h["data"]["progress"] for h in status["history"]] == [0.1, 0.5]  # v2: earlier values
    got_run = tasks_by_key(run)["get run"].output  # the Run model, stored tagged (serdes)
    assert got_run["$model"]["data"]["id"] == run.id


# -- redacted.ts -------------------------------------------------------------------------


async def test_redaction_example_hides_card_details_where_stored(store: Any) -> None:
    client = make_catalog_client(store)
    seen: list[Any] = []
    jobs.define_redacted(client, seen=seen)
    event = await client.send_event("redaction.example")

    assert (await drive(client, event.run_ids[0])).status is RunStatus.COMPLETED
    assert seen[0] == jobs.CHARGE_EVENT, "the run gets the whole output"
    stored = tasks_by_key(await client.get_run(event.run_ids[0]))["task-example-1"].output
    charge = stored["data"]["object"]
    assert charge["balance_transaction"] == charge["billing_details"] == "[REDACTED]"
    assert "this_does_not_exist" not in charge and charge["amount"] == 1500
    assert "txn_3NYWgVI0XSgju2ur0qujz4Kc" not in json.dumps(stored)


# -- background-fetch.ts -----------------------------------------------------------------


async def test_background_fetch_retries_by_status_as_v2(store: Any) -> None:
    client = make_catalog_client(store)
    jobs.define_background_fetch(client)
    with http_target() as (url, hits):
        retried = await client.send_event("test.background-fetch.retry", {
            "url": f"{url}/flaky", "method": "POST", "headers": {"X-Test": "1"},
            "body": {"hello": "world"}, "retry": jobs.RETRY_BY_STATUS,
        })  # fmt: skip
        plain = await client.send_event("test.background-fetch", {"url": f"{url}/status/404"})
        await settle(client)

    run = await client.get_run(retried.run_ids[0])
    assert run.status is RunStatus.COMPLETED, run.error
    assert run.output["status"] == 200 and json.loads(run.output["json"]["sent"]) == {
        "hello": "world"}
    assert hits["/flaky"] == 2
    not_found = await client.get_run(plain.run_ids[0])
    assert not_found.status is RunStatus.COMPLETED, not_found.error
    assert not_found.output["status"] == 404 and hits["/status/404"] == 1


# -- byo-auth.ts -------------------------------------------------------------------------

TOKENS = {"resend": "re_123", "stripe": "sk_test_123", "openai": "sk-123",
          "slack:user_1235": "xoxp-slack"}  # fmt: skip


async def test_send_account_event_uses_each_resolvers_credentials(store: Any) -> None:
    calls: list[dict[str, Any]] = []
    client = make_catalog_client(store, auth_resolvers=jobs.byo_auth_resolvers(TOKENS))
    jobs.define_byo_auth(client, calls=calls)
    event = await client.send_event("foo.bar", {}, context={"account_id": "user_1235"})

    report = await drive(client, event.run_ids[0])

    assert report.status is RunStatus.COMPLETED
    assert [(c["integration"], c["method"], c["token"]) for c in calls] == [
        ("slack", "postMessage", "xoxp-slack"),
        ("stripe", "subscriptions.retrieve", "sk_test_123"),
        ("resend", "sendEmail", "re_123"),
    ]
    run = await client.get_run(event.run_ids[0])
    assert {"💬", "🤑", "📧"} <= set(tasks_by_key(run))
    calls.clear()
    assert (await drive(client, event.run_ids[0])).status is RunStatus.COMPLETED
    assert calls == [], "a finished run calls nothing again"


async def test_send_account_event_without_an_account_is_unresolved_auth(store: Any) -> None:
    calls: list[dict[str, Any]] = []
    client = make_catalog_client(store, auth_resolvers=jobs.byo_auth_resolvers(TOKENS))
    jobs.define_byo_auth(client, calls=calls)
    anonymous = await client.send_event("foo.bar", {})
    unknown = await client.send_event("foo.bar", {}, context={"account_id": "user_9"})

    for event in (anonymous, unknown):
        assert (await drive(client, event.run_ids[0])).status is RunStatus.UNRESOLVED_AUTH
        run = await client.get_run(event.run_ids[0])
        assert "'slack'" in run.error["message"]
    assert "Could not find Slack auth" in (await client.get_run(unknown.run_ids[0])).error[
        "message"]
    assert calls == []


def github_delivery(url: str, body: dict[str, Any], secret: str = "gh-secret") -> httpx.Response:
    raw = json.dumps(body).encode()
    signature = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return httpx.post(url, content=raw, headers={"X-Signature": signature,
                                                 "X-Request-Id": str(body["issue"]["number"])})


async def test_dynamic_issue_opened_waits_for_its_connection_then_comments(store: Any) -> None:
    calls: list[dict[str, Any]] = []
    port = free_port()
    client = make_catalog_client(store, connection_key="MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
    jobs.define_byo_auth(client, calls=calls)
    issue = {"action": "opened", "issue": {"number": 7},
             "repository": {"name": "catalog", "owner": {"login": "acme"}}}  # fmt: skip
    with serve_app(client, port) as server:
        answer = github_delivery(f"{server.url}/webhooks/github-issues", issue)
        assert answer.status_code == 202, answer.text
        closed = github_delivery(f"{server.url}/webhooks/github-issues",
                                 {**issue, "action": "closed", "issue": {"number": 8}})
        assert closed.json()["run_ids"] == []
        run_id = answer.json()["run_ids"][0]
        assert (await drive(client, run_id)).status is RunStatus.WAITING_ON_CONNECTIONS
        headers = {"Authorization": f"Bearer {API_KEY}"}
        put = await asyncio.to_thread(httpx.put, f"{server.url}/api/connections/github-byoa",
                                      headers=headers, json={"credentials": {"token": "ghp_pat"}})
        assert put.status_code in (200, 204), put.text
        await settle(client)

    run = await client.get_run(run_id)
    assert run.status is RunStatus.COMPLETED, run.error
    assert [(c["method"], c["token"], c["issue_number"]) for c in calls] == [
        ("issues.createComment", "ghp_pat", 7)]


async def test_register_interval_schedules_runs_of_another_job(store: Any) -> None:
    client = make_catalog_client(store)
    jobs.define_dynamic_schedule(client)
    event = await client.send_event("register.interval", {"seconds": 120})
    assert (await drive(client, event.run_ids[0])).status is RunStatus.COMPLETED

    await settle(client, until=client.clock.time() + 121)
    await settle(client)
    ran = await runs_of(client, "use-interval")
    assert len(ran) == 1 and ran[0].status is RunStatus.COMPLETED
    assert [line.message for line in ran[0].logs] == ["Running interval"]


# -- httpTrigger.ts ----------------------------------------------------------------------


def signed(url: str, body: dict[str, Any], header: str, secret: str,
           prefix: str = "") -> httpx.Response:  # fmt: skip
    raw = json.dumps(body).encode()
    signature = prefix + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return httpx.post(url, content=raw, headers={header: signature})


async def test_http_endpoints_start_every_job_whose_filter_matches(store: Any) -> None:
    seen: list[Any] = []
    port = free_port()
    client = make_catalog_client(store)
    jobs.define_http_trigger(client, seen=seen)
    with serve_app(client, port) as server:
        cal = f"{server.url}/webhooks/cal.com"
        cancelled = signed(cal, {"triggerEvent": "BOOKING_CANCELLED", "uid": "b1"},
                           "X-Cal-Signature-256", "cal.com-secret")  # fmt: skip
        created = signed(cal, {"triggerEvent": "BOOKING_CREATED", "uid": "b2"},
                         "X-Cal-Signature-256", "cal.com-secret")  # fmt: skip
        forged = signed(cal, {"triggerEvent": "BOOKING_CREATED"}, "X-Cal-Signature-256", "nope")
        gh = f"{server.url}/webhooks/github.com"
        labeled = signed(gh, {"action": "labeled"}, "x-hub-signature-256", "github.com-secret",
                         prefix="sha256=")  # fmt: skip
        opened = signed(gh, {"action": "opened"}, "x-hub-signature-256", "github.com-secret",
                        prefix="sha256=")  # fmt: skip

    assert [r.status_code for r in (cancelled, created, labeled)] == [202, 202, 202]
    assert forged.status_code == 401 and opened.json()["run_ids"] == []
    assert len(cancelled.json()["run_ids"]) == 2 and len(created.json()["run_ids"]) == 1
    for answer in (cancelled, created, labeled):
        for run_id in answer.json()["run_ids"]:
            assert (await drive(client, run_id)).status is RunStatus.COMPLETED
    assert sorted((job, body.get("triggerEvent", body.get("action"))) for job, body in seen) == [
        ("http-caldotcom", "BOOKING_CANCELLED"), ("http-caldotcom", "BOOKING_CREATED"),
        ("http-caldotcom-cancellations", "BOOKING_CANCELLED"), ("http-github", "labeled"),
    ]


# -- auto-yield.ts -----------------------------------------------------------------------


async def test_auto_yield_spreads_long_tasks_over_invocations_posting_each_once(
    store: Any,
) -> None:
    client = make_catalog_client(store)
    jobs.define_auto_yield(client, sleep=client.clock.advance)  # type: ignore[attr-defined]
    with request_bin() as (url, posted):
        event = await client.send_event("auto.yield.1", {"iterations": 12, "url": url})
        report = await drive(client, event.run_ids[0], budget_seconds=60)

    assert report.status is RunStatus.COMPLETED
    assert report.yields >= 1, "the 51 s task and the rest do not fit one 60 s invocation"
    bodies = [p["json"] for p in posted]
    assert [b["message"] for b in bodies] == [f"task.{i}" for i in range(12)]
    keys = [b["idempotencyKey"] for b in bodies]
    assert len(set(keys)) == 12 and all(len(k) == 64 for k in keys)
    assert {b["runId"] for b in bodies} == {event.run_ids[0]}


# -- edge-cases.ts -----------------------------------------------------------------------


async def test_task_outputs_come_back_as_they_went_in(store: Any) -> None:
    client = make_catalog_client(store)
    jobs.define_edge_cases(client)
    run = await client.invoke("task-output-edge-cases", None)

    report = await drive(client, run.id)

    ended = await client.get_run(run.id)
    assert report.status is RunStatus.COMPLETED, ended.error
    assert report.suspensions == 1, "the replay after the wait saw the same values"


# -- concurrency limits (v2 docs) --------------------------------------------------------


async def test_a_shared_concurrency_limit_holds_across_both_jobs(store: Any) -> None:
    client = make_catalog_client(store)
    gate = asyncio.Event()
    inside: list[str] = []

    async def work(job_id: str) -> None:
        inside.append(job_id)
        await gate.wait()

    jobs.define_concurrency(client, work=work)
    events = [await client.send_event("test", {"n": n}) for n in range(4)]
    run_ids = [run_id for event in events for run_id in event.run_ids]
    assert len(run_ids) == 12

    executing = [asyncio.ensure_future(client.execute(run_id)) for run_id in run_ids]
    for _ in range(400):
        await asyncio.sleep(0.01)
        if len(inside) >= 9 and sum(f.done() for f in executing) >= 3:
            break
    assert sorted(inside).count("test-job-3") == 4, "its own limit of 5 lets all 4 in"
    assert len([j for j in inside if j != "test-job-3"]) == 5, "8 runs share 5 slots"
    gate.set()
    await asyncio.gather(*executing)
    await settle(client)
    assert {r.status for job in ("test-job-1", "test-job-2", "test-job-3")
            for r in await runs_of(client, job)} == {RunStatus.COMPLETED}  # fmt: skip
    assert len(inside) == 12
