"""Crash anywhere (short form of reliability/crash.py): SIGKILLed workers lose and repeat nothing."""

from __future__ import annotations

import pytest

from reliability import crash


@pytest.mark.timeout(300)
@pytest.mark.parametrize("mode", ["loop", "local"])
def test_sigkilled_sqlite_workers_lose_nothing_and_repeat_only_killed_tasks(mode: str) -> None:
    verdict = crash.campaign("sqlite", mode=mode, kills=5, runs_per_kill=2, initial_runs=8)
    assert verdict.faults == []  # a run ending TIMED_OUT or FAILED "crash loop" is a fault
    assert verdict.figures["runs TIMED_OUT"] == 0
    assert verdict.figures["runs"] >= 18


@pytest.mark.timeout(300)
def test_sigkilled_dynamodb_workers_lose_nothing_and_repeat_only_killed_tasks(
    moto_url: str,
) -> None:
    verdict = crash.campaign(
        "dynamodb", kills=2, runs_per_kill=2, initial_runs=8, moto_url=moto_url
    )
    assert verdict.faults == []
    assert verdict.figures["runs TIMED_OUT"] == 0
    assert verdict.figures["runs"] >= 12
