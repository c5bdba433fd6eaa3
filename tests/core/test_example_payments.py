"""examples/payments.py works as its docstring says: fails on the outage, completes on retry."""

from __future__ import annotations

from pathlib import Path

import pytest
from triggerfish.core import RunStatus, SkippingClock, SQLiteStore
from triggerfish.core.testing import drive


async def test_the_payments_example_fails_then_completes_when_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIGGERFISH_DB", str(tmp_path / "examples.db"))
    from examples.payments import client

    client.store = SQLiteStore(tmp_path / "payments.db")
    client.clock = SkippingClock()
    run = await client.invoke("charge-order", {"order": "o-1", "amount": 42, "gateway_down": True})
    assert (await drive(client, run.id)).status is RunStatus.FAILED
    failed = await client.get_run(run.id)
    assert failed.error is not None and failed.error["type"] == "GatewayDown"

    await client.retry_run(run.id)
    assert (await drive(client, run.id)).status is RunStatus.COMPLETED
    done = await client.get_run(run.id)
    assert done.output["receipt"] == {"order": "o-1", "charged": 42.0}
    assert [(t.key, t.attempts) for t in done.tasks] == [("reserve-stock", 1), ("charge", 2)]
