"""A verified webhook delivery starts a run of every enabled job on its webhook id whose
filter matches it (Trigger.dev v2: several jobs may listen to one webhook; issue 16).

    delivery (body, headers, query) -> for each job on the id, in definition order:
        enabled and trigger.matches({"body", "headers", "query"}) -> run derived from
        (delivery id, job id): a redelivery finds the same runs and starts none

Signatures are the adapter's business (each job's trigger checks its own secret); it
passes the ids of the jobs whose signature check the delivery passed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from .starts import create_run, derived_id, payload_json
from .triggers import WebhookTrigger

if TYPE_CHECKING:
    from .jobs import Job
    from .runtime import Runtime
    from .store.base import RunRecord


def webhook_jobs(runtime: Runtime, trigger_id: str) -> list[Job]:
    """Every job whose webhook trigger has this id, in definition order."""
    return [
        job
        for job in runtime.jobs.values()
        if isinstance(job.trigger, WebhookTrigger) and job.trigger.id == trigger_id
    ]


async def start_webhook_runs(
    runtime: Runtime,
    trigger_id: str,
    payload: Any,
    *,
    delivery_id: str,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, Any] | None = None,
    job_ids: Collection[str] | None = None,
) -> list[RunRecord]:
    """Starts the run of each matching enabled job (of `job_ids` only, when given)."""
    text = payload_json(payload)
    request = {
        "body": payload,
        "headers": {name.lower(): value for name, value in (headers or {}).items()},
        "query": dict(query or {}),
    }
    started: list[RunRecord] = []
    for job in webhook_jobs(runtime, trigger_id):
        trigger = job.trigger
        if job_ids is not None and job.id not in job_ids:
            continue
        if not job.enabled or not isinstance(trigger, WebhookTrigger):
            continue
        if not trigger.matches(request):
            continue
        record = await create_run(
            runtime, job, text, run_id=derived_id(delivery_id, job.id),
            event_name=f"webhook.{trigger_id}",
        )  # fmt: skip
        started.append(record)
    return started
