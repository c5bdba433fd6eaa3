"""Hostile nesting (``[[[[...``) is refused before `json.loads` recurses into it: a parse
that reaches the interpreter's recursion limit makes any finalizer running then fail too."""

from __future__ import annotations

import json

import pytest
from triggerfish.core.fetch import MAX_RESPONSE_DEPTH, response_body
from triggerfish.core.serialize import nests_deeper


@pytest.mark.parametrize(
    ("text", "limit", "deeper"),
    [
        ("[[[]]]", 2, True),
        ("[[[]]]", 3, False),
        ('{"a": {"b": [1, {"c": []}]}}', 4, True),
        ('{"a": {"b": [1, {"c": []}]}}', 5, False),
        ('["[[[[[[[[", "{{{{{{{"]', 1, False),  # brackets inside strings do not count
        (r'["\"[[[[", [[]]]', 2, True),  # an escaped quote does not end the string
        ("[]" * 10_000, 1, False),  # wide, not deep
        ("[" * 100_000, 64, True),  # unbalanced: still refused, never parsed
    ],
)
def test_nesting_is_measured_without_parsing(text: str, limit: int, deeper: bool) -> None:
    assert nests_deeper(text, limit) is deeper
    assert nests_deeper(text.encode(), limit) is deeper


def test_a_json_answer_nested_too_deep_is_kept_as_text_not_parsed() -> None:
    hostile = "[" * 50_000 + "]" * 50_000
    answer = response_body({"Content-Type": "application/json"}, hostile.encode())
    assert answer["json"] is None and answer["body"] == hostile


def test_a_json_answer_at_the_depth_limit_is_parsed() -> None:
    text = "[" * MAX_RESPONSE_DEPTH + "]" * MAX_RESPONSE_DEPTH
    answer = response_body({"Content-Type": "application/json"}, text.encode())
    assert answer["json"] == json.loads(text)
