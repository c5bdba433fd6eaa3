"""Trigger.dev v2 idioms in Python: a job as a v2 user writes it, each call the Python way.

Loaded by examples/jobs.py (``make dev``); docs/coming-from-v2.md maps every v2 call.

    triggerfish send-event order.placed '{"order": "o-1", "amount": 4200}'
    triggerfish send-event payment.settled '{"order": "o-1"}'     # within the hour

    v2                                              here
    io.runTask("charge", async (task) => ...        io.run_task("charge", lambda task: ...)
      stripe.charges.create({...},                    task.idempotency_key: stable across
        {idempotencyKey: task.idempotencyKey}))       attempts and replays
    io.sendEvent("remind", {name, payload,          io.send_event("remind", name, payload,
      context}, {deliverAfter: 3600})                 context=..., deliver_after=3600)
    await io.waitForEvent("settled", {name,         event = await io.wait_for_event("settled",
      filter}, {timeoutInSeconds: 3600})              name, filter=..., timeout=3600)
    io.createStatus / status.update                 io.create_status / status.update
    io.invoke("receipt", job, payload)              io.invoke("receipt", job_id, payload)
"""

from __future__ import annotations

from typing import Any

from triggerfish.core import IO, Client, Context, TaskContext, event_trigger, invoke_trigger


def charge_card(order: str, amount: int, *, idempotency_key: str) -> dict[str, Any]:
    """Stands for a payment API that takes an idempotency key (Stripe's header)."""
    return {"charge": f"ch_{idempotency_key[:12]}", "order": order, "amount": amount}


def define_v2_jobs(client: Client) -> None:
    """Adds the v2-style examples to `client`."""

    @client.define_job(id="send-receipt", name="Send a receipt", trigger=invoke_trigger())
    async def send_receipt(payload: dict[str, Any], io: IO, ctx: Context) -> str:
        """A child started fire-and-forget by `io.invoke`."""
        sent: str = await io.run_task("mail", lambda: f"receipt for {payload['order']}")
        return sent

    @client.define_job(id="fulfil-order", name="Fulfil an order (v2 style)",
                       trigger=event_trigger("order.placed"))  # fmt: skip
    async def fulfil_order(payload: dict[str, Any], io: IO, ctx: Context) -> dict[str, Any]:
        """Charges once, reminds in an hour, waits for the settlement, then sends a receipt."""
        order, amount = payload["order"], int(payload["amount"])
        progress = await io.create_status("progress", label="Charging", state="loading")

        def charge_once(task: TaskContext) -> dict[str, Any]:
            return charge_card(order, amount, idempotency_key=task.idempotency_key)

        charge = await io.run_task("charge", charge_once)
        await io.send_event("remind", "order.reminder", {"order": order},
                            context={"source": ctx.event.id}, deliver_after=3600)  # fmt: skip
        await progress.update("waiting", label="Waiting for the settlement")
        settled = await io.wait_for_event("settled", "payment.settled",
                                          filter={"order": [order]}, timeout=3600)  # fmt: skip
        receipt = await io.invoke("receipt", "send-receipt", {"order": order})
        await progress.update("done", label="Fulfilled", state="success")
        return {"charge": charge["charge"], "settled_by": settled.id, "receipt_run": receipt["id"]}
