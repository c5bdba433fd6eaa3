"""examples/v2_idioms.py works as its docstring says, on every store."""

from __future__ import annotations

from typing import Any

from support.jobs import make_client
from triggerfish.core import RunStatus
from triggerfish.core.testing import drive


async def test_the_v2_style_order_job_charges_once_waits_for_settlement_and_sends_a_receipt(
    store: Any,
) -> None:
    from examples.v2_idioms import define_v2_jobs

    client = make_client(store)
    define_v2_jobs(client)
    placed = await client.send_event("order.placed", {"order": "o-1", "amount": 4200})
    (run_id,) = placed.run_ids

    waiting = await drive(client, run_id)
    assert waiting.status is RunStatus.WAITING  # only the settlement's timeout is left
    settled = await client.send_event("payment.settled", {"order": "o-1"}, id="settle-o-1")
    await drive(client, run_id)

    run = await client.get_run(run_id)
    assert run.status is RunStatus.COMPLETED
    assert run.output["settled_by"] == settled.id == "settle-o-1"
    charge = next(t for t in run.tasks if t.key == "charge")
    assert charge.output["charge"].startswith("ch_") and charge.attempts == 1
    receipt = await drive(client, run.output["receipt_run"])
    assert receipt.status is RunStatus.COMPLETED
    assert (await client.get_run(run.output["receipt_run"])).output == "receipt for o-1"
    assert [s.label for s in run.statuses] == ["Fulfilled"]
