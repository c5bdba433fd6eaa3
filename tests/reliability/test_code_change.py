"""Code changed under a running run (reliability/code_change.py): goes on, or fails naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from reliability import code_change


@pytest.mark.parametrize(
    ("name", "output", "ran_again"),
    [
        ("unchanged", ["a-output", "b-output", "c-output"], ["c"]),
        ("task renamed", ["a-output", "b-renamed-output", "c-output"], ["b-renamed", "c"]),
        ("task removed", ["a-output", "c-output"], ["c"]),
        ("tasks reordered", ["a-output", "b-output", "c-output"], ["c"]),
        ("task inserted before the wait", ["a-output", "x-output", "b-output", "c-output"],
         ["c", "x"]),
        ("task appended after the recorded ones",
         ["a-output", "b-output", "c-output", "d-output"], ["c", "d"]),
    ],
)  # fmt: skip
async def test_a_run_resumed_by_changed_code_replays_recorded_keys_and_runs_new_ones(
    name: str, output: list[str], ran_again: list[str], tmp_path: Path
) -> None:
    result = await code_change.scenario(name, tmp_path)
    assert (result.status, result.output, result.ran_again) == ("COMPLETED", output, ran_again)


@pytest.mark.parametrize("name", ["task changed to a wait", "wait changed to a task"])
async def test_a_key_whose_kind_changed_fails_the_run_naming_the_key(
    name: str, tmp_path: Path
) -> None:
    result = await code_change.scenario(name, tmp_path)
    assert result.status == "FAILED"
    key = "b" if name == "task changed to a wait" else "pause"
    kinds = ("task", "wait") if name == "task changed to a wait" else ("wait", "task")
    assert result.error is not None
    assert result.error["type"] == "NonDeterminismError"
    assert result.error["key"] == key
    assert f"recorded as a {kinds[0]} but is now called as a {kinds[1]}" in result.error["message"]
    assert result.ran_again == []  # nothing ran under the changed code past the guard
