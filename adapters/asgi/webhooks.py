"""``POST /webhooks/{trigger_id}``: signed deliveries start runs of webhook-triggered jobs.

The signature (HMAC-SHA256 of the raw body, checked by the trigger's `is_authentic`) is
the authentication; there is no bearer key. A delivery is identified by the sender's
``X-GitHub-Delivery`` or ``X-Request-Id`` header, else by the hash of its body, so a
redelivery starts no second run.

Several jobs may share a webhook id (issue 16): a delivery starts a run of every enabled
job whose signature check it passes and whose `filter` (over body, headers and query)
matches. The answer is the first run (202, as with one job) plus ``run_ids``, all of them;
200 ``{"run_ids": []}`` when no filter matched.
"""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from triggerfish.core import Client
from triggerfish.core.triggers import WebhookTrigger

from .bodies import read_json
from .errors import error_response

DELIVERY_HEADERS = ("x-github-delivery", "x-request-id")


def delivery_id(body: bytes, headers: dict[str, str]) -> str:
    """The delivery's id: a sender's delivery header, else ``sha256:<hex of body>``."""
    for name in DELIVERY_HEADERS:
        value = headers.get(name, "").strip()
        if value:
            return value
    return "sha256:" + hashlib.sha256(body).hexdigest()


async def receive_webhook(request: Request) -> JSONResponse:
    client: Client = request.app.state.triggerfish_client
    trigger_id = request.path_params["trigger_id"]
    triggers = {
        job.id: job.trigger
        for job in client.webhook_jobs(trigger_id)
        if isinstance(job.trigger, WebhookTrigger)
    }
    if not triggers:
        return error_response(
            404,
            "webhook_not_found",
            f"no job has a webhook trigger with id {trigger_id!r}",
            trigger_id=trigger_id,
        )
    body = await request.body()
    headers = {key.lower(): value for key, value in request.headers.items()}
    # Each job's trigger checks the signature with its own secret: a delivery reaches only
    # the jobs whose check it passes.
    authentic = [
        client.get_job(job_id)
        for job_id, trigger in triggers.items()
        if trigger.is_authentic(body, headers)
    ]
    if not authentic:
        return error_response(
            401,
            "invalid_signature",
            "missing or wrong signature: send X-Hub-Signature-256: sha256=<hex> or "
            "X-Signature: <hex>, the HMAC-SHA256 of the raw body with the trigger's secret",
        )
    enabled = [job for job in authentic if job.enabled]
    if not enabled:  # as invoke refuses it: a disabled job starts no run from anywhere
        job = authentic[0]
        return error_response(
            409, "conflict", f"job {job.id!r} is disabled", job_id=job.id, trigger_id=trigger_id
        )
    payload = await read_json(request) if body.strip() else None
    runs = await client.start_webhook_runs(
        trigger_id, payload, delivery_id=delivery_id(body, headers), headers=headers,
        query=query_values(request), job_ids={job.id for job in enabled},
    )  # fmt: skip
    run_ids = [run.id for run in runs]
    if not runs:  # no job's filter matched: nothing to do, and nothing wrong
        return JSONResponse({"run_ids": []}, status_code=200)
    first = runs[0]
    location = str(request.url_for("api:get_run", run_id=first.id))
    return JSONResponse(
        {**first.model_dump(mode="json"), "run_ids": run_ids},
        status_code=202,
        headers={"Location": location},
    )


def query_values(request: Request) -> dict[str, Any]:
    """The query parameters for a webhook filter: one value as a str, a repeated one a list."""
    values: dict[str, Any] = {}
    for name, value in request.query_params.multi_items():
        if name not in values:
            values[name] = value
        elif isinstance(values[name], list):
            values[name].append(value)
        else:
            values[name] = [values[name], value]
    return values


def webhook_routes() -> list[Route]:
    """The webhook route (public; each delivery is checked by its signature)."""
    return [Route("/webhooks/{trigger_id}", receive_webhook, methods=["POST"], name="webhook")]
