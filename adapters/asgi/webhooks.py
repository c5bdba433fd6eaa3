"""``POST /webhooks/{trigger_id}``: signed deliveries start runs of webhook-triggered jobs.

The signature (HMAC-SHA256 of the raw body, checked by the trigger's `is_authentic`) is
the authentication; there is no bearer key. A delivery is identified by the sender's
``X-GitHub-Delivery`` or ``X-Request-Id`` header, else by the hash of its body, so a
redelivery starts no second run.
"""

from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from triggerfish.core import Client, JobNotFound
from triggerfish.core.triggers import WebhookTrigger

from .bodies import read_json
from .errors import APIError, error_response

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
    try:
        job = client.webhook_job(trigger_id)
    except JobNotFound:
        return error_response(
            404,
            "webhook_not_found",
            f"no job has a webhook trigger with id {trigger_id!r}",
            trigger_id=trigger_id,
        )
    trigger = job.trigger
    if not isinstance(trigger, WebhookTrigger):
        raise APIError(404, "webhook_not_found", f"no webhook trigger with id {trigger_id!r}")
    body = await request.body()
    headers = {key.lower(): value for key, value in request.headers.items()}
    if not trigger.is_authentic(body, headers):
        return error_response(
            401,
            "invalid_signature",
            "missing or wrong signature: send X-Hub-Signature-256: sha256=<hex> or "
            "X-Signature: <hex>, the HMAC-SHA256 of the raw body with the trigger's secret",
        )
    if not job.enabled:  # as invoke refuses it: a disabled job starts no run from anywhere
        return error_response(
            409, "conflict", f"job {job.id!r} is disabled", job_id=job.id, trigger_id=trigger_id
        )
    payload = await read_json(request) if body.strip() else None
    run = await client.start_webhook_run(
        trigger_id, payload, delivery_id=delivery_id(body, headers)
    )
    location = str(request.url_for("api:get_run", run_id=run.id))
    return JSONResponse(
        run.model_dump(mode="json"), status_code=202, headers={"Location": location}
    )


def webhook_routes() -> list[Route]:
    """The webhook route (public; each delivery is checked by its signature)."""
    return [Route("/webhooks/{trigger_id}", receive_webhook, methods=["POST"], name="webhook")]
