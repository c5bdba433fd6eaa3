"""Webhook deliveries (issue 16, item 10): every enabled job on the webhook id whose
`filter` over body, headers and query matches starts a run, on every store."""

from __future__ import annotations

from typing import Any

import pytest
from support.jobs import make_client
from triggerfish.core import IO, ConfigError, Context, webhook_trigger


def define_jobs(client: Any, *, all_enabled: bool = True) -> None:
    def define(job_id: str, enabled: bool = True, **options: Any) -> None:
        trigger = webhook_trigger("github", secret="s", **options)

        @client.define_job(id=job_id, trigger=trigger, enabled=enabled)
        async def run(payload: Any, io: IO, ctx: Context) -> Any:
            return payload

    define("all", enabled=all_enabled)
    define("pushes", filter={"headers": {"x-github-event": ["push"]}})
    define("opened", filter={"body": {"action": ["opened"]}})
    define("prod", filter={"query": {"env": ["prod"]}})


async def _started(client: Any, body: Any, delivery: str, **request: Any) -> list[str]:
    runs = await client.start_webhook_runs("github", body, delivery_id=delivery, **request)
    return [(await client.get_run(run.id, tasks=False)).job_id for run in runs]


async def test_every_job_on_the_webhook_whose_filter_matches_starts_a_run(store: Any) -> None:
    client = make_client(store)
    define_jobs(client)

    assert await _started(client, {"action": "closed"}, "d-1") == ["all"]
    push = await _started(client, {"ref": "main"}, "d-2", headers={"X-GitHub-Event": "push"})
    assert push == ["all", "pushes"]
    opened = await _started(client, {"action": "opened"}, "d-3", query={"env": ["dev", "prod"]})
    assert opened == ["all", "opened", "prod"]


async def test_a_redelivery_starts_no_second_run(store: Any) -> None:
    client = make_client(store)
    define_jobs(client)
    first = await client.start_webhook_runs("github", {"action": "opened"}, delivery_id="d-9")
    again = await client.start_webhook_runs("github", {"action": "opened"}, delivery_id="d-9")
    assert [r.id for r in again] == [r.id for r in first] and len(first) == 2
    assert len((await client.list_runs()).runs) == 2


async def test_a_disabled_job_and_jobs_left_out_by_the_caller_start_nothing(store: Any) -> None:
    client = make_client(store)
    define_jobs(client, all_enabled=False)
    opened = await _started(client, {"action": "opened"}, "d-4")
    assert opened == ["opened"]
    only = await client.start_webhook_runs("github", {"action": "opened"}, delivery_id="d-5",
                                           job_ids={"pushes"})  # fmt: skip
    assert only == []
    assert [job.id for job in client.webhook_jobs("github")] == ["all", "pushes", "opened", "prod"]
    assert client.webhook_jobs("other") == []


@pytest.mark.parametrize(
    ("webhook_filter", "message"),
    [
        ({"body": {"n": [{"$nope": 1}]}}, "filter.body.n"),
        ({"payload": {"n": [1]}}, "filter keys must be among ['body', 'headers', 'query']"),
    ],
)
def test_a_bad_filter_is_refused_at_definition(webhook_filter: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("$", r"\$")):
        webhook_trigger("github", secret="s", filter=webhook_filter)
