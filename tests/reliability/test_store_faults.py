"""Store faults (short form of reliability/store_faults.py): runs finish despite a flaky store."""

from __future__ import annotations

import pytest

from reliability import store_faults


@pytest.mark.timeout(300)
def test_throttling_and_5xx_on_a_tenth_of_dynamodb_calls_lose_nothing(moto_url: str) -> None:
    verdict = store_faults.campaign(
        "dynamodb", runs=16, rate=0.1, kinds=("throttle", "throttling", "5xx"), moto_url=moto_url
    )
    assert verdict.faults == []
    assert verdict.figures["injected throttle"] + verdict.figures["injected 5xx"] > 0


@pytest.mark.timeout(300)
def test_sqlite_write_locks_held_by_another_connection_lose_nothing() -> None:
    verdict = store_faults.campaign("sqlite", runs=16, sqlite_timeout=0.1)
    assert verdict.faults == []
    assert verdict.figures["sqlite write locks held"] > 0


@pytest.mark.timeout(300)
def test_timeouts_resets_and_lost_answers_on_dynamodb_calls_lose_nothing(moto_url: str) -> None:
    verdict = store_faults.campaign(
        "dynamodb", runs=16, rate=0.2, kinds=("timeout", "reset", "lost"), moto_url=moto_url
    )
    raised = {k: v for k, v in verdict.figures.items() if "raising" in k}
    assert verdict.faults == [] and raised == {}
