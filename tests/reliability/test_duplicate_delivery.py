"""Duplicate delivery (short form of reliability/duplicates.py): each resume 1-4 times at once."""

from __future__ import annotations

from typing import Any

import pytest

from reliability import duplicates


@pytest.mark.timeout(300)
@pytest.mark.parametrize("store_kind", ["sqlite", "dynamodb"])
def test_resumes_delivered_up_to_four_times_from_two_processes_repeat_nothing(
    store_kind: str, request: pytest.FixtureRequest
) -> None:
    url: Any = request.getfixturevalue("moto_url") if store_kind == "dynamodb" else None
    verdict = duplicates.campaign(store_kind, runs=16, moto_url=url)
    assert verdict.faults == []
    repeats = verdict.figures["repeated executions"]
    assert repeats <= verdict.figures["worker invocations overran their lease"]
    assert verdict.figures["worker deliveries"] > verdict.figures["worker resumes"]
