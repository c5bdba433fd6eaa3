"""Run control: which errors are retried, a charge made at most once, a failed run retried.

Serve it with ``triggerfish dev examples.payments:client``, then, with the API key it prints:

    triggerfish invoke charge-order '{"order": "o-1", "amount": 42, "gateway_down": true}'
    # the run FAILS: "charge" raised GatewayDown and retry_on does not include it
    triggerfish retry RUN_ID
    # completed tasks ("reserve-stock") are kept; "charge" gets a fresh set of attempts

The example gateway is "down" once per order while ``gateway_down`` is true in the
payload (a real one would be fixed by then), so the retried run completes.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from triggerfish.core import (
    IO,
    Client,
    Context,
    RetryPolicy,
    TaskInterrupted,
    invoke_trigger,
)

client = Client.from_env("examples")
_outages: set[str] = set()
"""Orders whose (example) gateway outage already happened, so a retry finds it back up."""


class GatewayDown(Exception):
    """The payment gateway refused to take the charge (a human has to look)."""


class Order(BaseModel):
    order: str
    amount: float
    gateway_down: bool = False


@client.define_job(id="charge-order", name="Charge an order", version="1.0.0",
                   trigger=invoke_trigger(Order))  # fmt: skip
async def charge_order(payload: Order, io: IO, ctx: Context) -> dict[str, Any]:
    """Reserves stock (retried on timeouts only), then charges once: never twice by a crash."""
    reservation = await io.run_task(
        "reserve-stock",
        lambda: {"order": payload.order, "reserved": True},
        retry=RetryPolicy(limit=5, retry_on=(TimeoutError, ConnectionError)),
    )

    def charge() -> dict[str, Any]:
        if payload.gateway_down and payload.order not in _outages:
            _outages.add(payload.order)
            raise GatewayDown(f"gateway refused order {payload.order}")
        return {"order": payload.order, "charged": payload.amount}

    # at_most_once: a start record is written before the charge; if the process dies
    # mid-charge, the attempt counts as failed (TaskInterrupted) instead of charging again.
    # Here an interrupted charge is retried (the gateway call is idempotent on the order id);
    # GatewayDown is not: it fails the run, and `triggerfish retry` continues it later.
    receipt = await io.run_task(
        "charge", charge, at_most_once=True,
        retry=RetryPolicy(limit=3, retry_on=(TaskInterrupted, TimeoutError)),
    )  # fmt: skip
    io.logger.info("charged", order=payload.order)
    return {"reservation": reservation, "receipt": receipt}
