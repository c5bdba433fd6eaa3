"""Event filters: Trigger.dev v2's EventFilter operators, checked at definition time."""

from __future__ import annotations

import math
from typing import Any

import pytest
from support.jobs import make_client
from triggerfish.core import IO, ConfigError, Context, event_trigger
from triggerfish.core.filters import OPERATORS, matches_filter, validate_filter

USER = {
    "name": "John",
    "age": 30,
    "score": 100.0,
    "admin": False,
    "confirmed_at": None,
    "hobbies": ["reading", "swimming"],
    "address": {"street": "123 Main St", "city": "Anytown", "zip": "12345"},
    "orders": [{"sku": "a-1", "qty": 2}, {"sku": "b-7", "qty": 9}],
}

CASES: list[tuple[str, dict[str, Any], Any, bool]] = [
    # equality lists: any of the values; JSON equality (bool is not number, "1" is not 1)
    ("value list hit", {"name": ["Jane", "John"]}, USER, True),
    ("value list miss", {"name": ["Jane"]}, USER, False),
    ("bare value is a one-value list", {"name": "John"}, USER, True),
    ("number list", {"age": [30]}, USER, True),
    ("int equals float", {"score": [100]}, USER, True),
    ("bool list", {"admin": [False]}, USER, True),
    ("False is not 0", {"admin": [0]}, USER, False),
    ("True is not 1", {"flag": [1]}, {"flag": True}, False),
    ("1 is not True", {"flag": [True]}, {"flag": 1}, False),
    ("string is not number", {"age": ["30"]}, USER, False),
    ("null value in list", {"confirmed_at": [None]}, USER, True),
    ("null list misses a missing key", {"nope": [None]}, USER, False),
    ("nan payload equals nothing", {"x": [1.0]}, {"x": math.nan}, False),
    ("empty list means any", {"name": []}, USER, True),
    ("empty list passes a missing key", {"nope": []}, USER, True),
    ("empty filter matches anything", {}, None, True),
    ("non-empty filter on null payload", {"a": [1]}, None, False),
    ("non-empty filter on a string payload", {"a": [1]}, "a", False),
    ("payload array: any element", {"hobbies": ["swimming"]}, USER, True),
    ("payload array: no element", {"hobbies": ["gaming"]}, USER, False),
    ("missing key", {"nope": ["x"]}, USER, False),
    # nesting
    ("nested object", {"address": {"city": ["Anytown"]}}, USER, True),
    ("nested miss", {"address": {"city": ["Othertown"]}}, USER, False),
    ("nested on missing key", {"nope": {"city": ["Anytown"]}}, USER, False),
    ("nested empty on missing key", {"nope": {}}, USER, True),
    ("array of objects: any element", {"orders": {"sku": ["b-7"], "qty": [{"$gt": 5}]}}, USER, True),
    ("array of objects: same element", {"orders": {"sku": ["a-1"], "qty": [{"$gt": 5}]}}, USER, False),
    ("top-level array payload", {"sku": ["a-1"]}, [{"sku": "z"}, {"sku": "a-1"}], True),
    # strings
    ("$startsWith", {"name": [{"$startsWith": "Jo"}]}, USER, True),
    ("$startsWith miss", {"name": [{"$startsWith": "jo"}]}, USER, False),
    ("$startsWith on number", {"age": [{"$startsWith": "3"}]}, USER, False),
    ("$endsWith", {"name": [{"$endsWith": "hn"}]}, USER, True),
    ("operator list means all", {"name": [{"$startsWith": "Ja"}, {"$endsWith": "hn"}]}, USER, False),
    ("operator list all hold", {"name": [{"$startsWith": "Jo"}, {"$endsWith": "hn"}]}, USER, True),
    ("$startsWith on array: any element", {"hobbies": [{"$startsWith": "swim"}]}, USER, True),
    ("$ignoreCaseEquals", {"name": [{"$ignoreCaseEquals": "jOHN"}]}, USER, True),
    ("$ignoreCaseEquals keeps accents", {"n": [{"$ignoreCaseEquals": "cafe"}]}, {"n": "Café"}, False),
    ("$ignoreCaseEquals on null", {"confirmed_at": [{"$ignoreCaseEquals": "x"}]}, USER, False),
    # presence
    ("$exists true", {"name": [{"$exists": True}]}, USER, True),
    ("$exists true on null value", {"confirmed_at": [{"$exists": True}]}, USER, True),
    ("$exists true on missing", {"nope": [{"$exists": True}]}, USER, False),
    ("$exists false on missing", {"nope": [{"$exists": False}]}, USER, True),
    ("$exists false on present", {"name": [{"$exists": False}]}, USER, False),
    ("$isNull true", {"confirmed_at": [{"$isNull": True}]}, USER, True),
    ("$isNull true on missing", {"nope": [{"$isNull": True}]}, USER, False),
    ("$isNull false on value", {"name": [{"$isNull": False}]}, USER, True),
    ("$isNull false on missing", {"nope": [{"$isNull": False}]}, USER, True),
    ("$isNull true on False", {"admin": [{"$isNull": True}]}, USER, False),
    # anything but / not
    ("$anythingBut", {"name": [{"$anythingBut": "Jane"}]}, USER, True),
    ("$anythingBut hit", {"name": [{"$anythingBut": "John"}]}, USER, False),
    ("$anythingBut list", {"name": [{"$anythingBut": ["Jane", "John"]}]}, USER, False),
    ("$anythingBut missing key", {"nope": [{"$anythingBut": "x"}]}, USER, True),
    ("$anythingBut 1 vs True", {"flag": [{"$anythingBut": 1}]}, {"flag": True}, True),
    ("$anythingBut on array", {"hobbies": [{"$anythingBut": "reading"}]}, USER, False),
    ("$not", {"name": [{"$not": "Test"}]}, USER, True),
    ("$not hit", {"age": [{"$not": 30}]}, USER, False),
    ("$not bool", {"admin": [{"$not": True}]}, USER, True),
    ("$not on array", {"hobbies": [{"$not": "gaming"}]}, USER, True),
    ("$not on array hit", {"hobbies": [{"$not": "reading"}]}, USER, False),
    ("$not on missing", {"nope": [{"$not": "x"}]}, USER, False),
    ("$not on null", {"confirmed_at": [{"$not": "x"}]}, USER, False),
    # numbers
    ("$gt", {"age": [{"$gt": 20}]}, USER, True),
    ("$gt equal", {"age": [{"$gt": 30}]}, USER, False),
    ("$gte equal", {"age": [{"$gte": 30}]}, USER, True),
    ("$lt", {"age": [{"$lt": 40}]}, USER, True),
    ("$lte equal", {"age": [{"$lte": 30}]}, USER, True),
    ("range as two operators", {"age": [{"$gt": 20}, {"$lt": 25}]}, USER, False),
    ("$between", {"score": [{"$between": [90, 110]}]}, USER, True),
    ("$between bounds included", {"score": [{"$between": [100, 100]}]}, USER, True),
    ("$between miss", {"score": [{"$between": [0, 99.5]}]}, USER, False),
    ("$gt on numeric string", {"n": [{"$gt": 1}]}, {"n": "5"}, False),
    ("$gt on True", {"n": [{"$gt": 0}]}, {"n": True}, False),
    ("$gt on null", {"n": [{"$gt": 0}]}, {"n": None}, False),
    ("$gt on nan", {"n": [{"$gt": 0}]}, {"n": math.nan}, False),
    ("$lte on nan", {"n": [{"$lte": 0}]}, {"n": math.nan}, False),
    ("$gt on array: any element", {"n": [{"$gt": 5}]}, {"n": [1, 9]}, True),
    ("$gt on missing", {"nope": [{"$gt": 0}]}, USER, False),
    # includes
    ("$includes", {"hobbies": [{"$includes": "reading"}]}, USER, True),
    ("$includes miss", {"hobbies": [{"$includes": "gaming"}]}, USER, False),
    ("$includes on a string", {"name": [{"$includes": "J"}]}, USER, False),
    ("$includes bool vs number", {"xs": [{"$includes": 1}]}, {"xs": [True]}, False),
    # operator-mapping shorthand
    ("operator mapping shorthand", {"age": {"$gte": 18, "$lt": 65}}, USER, True),
    ("operator mapping shorthand miss", {"age": {"$gte": 31}}, USER, False),
    ("several keys: all must hold", {"name": ["John"], "age": [{"$lt": 18}]}, USER, False),
]


@pytest.mark.parametrize(
    ("filter", "payload", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_matches_filter(filter: dict[str, Any], payload: Any, expected: bool) -> None:
    validate_filter(filter)
    assert matches_filter(filter, payload) is expected


def test_every_operator_named_in_the_docs_is_known() -> None:
    assert {
        "$startsWith", "$endsWith", "$ignoreCaseEquals", "$exists", "$isNull", "$anythingBut",
        "$gt", "$lt", "$gte", "$lte", "$between", "$includes", "$not",
    } == OPERATORS


BAD: list[tuple[dict[str, Any], str]] = [
    ({"name": [{"$startWith": "J"}]}, r"unknown filter operator '\$startWith' at filter\.name\[0\]"),
    ({"a": {"b": [{"$regex": "x"}]}}, r"'\$regex' at filter\.a\.b\[0\]"),
    ({"a": {"$gtt": 1}}, r"unknown filter operator '\$gtt' at filter\.a\.\$gtt"),
    ({"a": [{"$gt": "5"}]}, r"\$gt at filter\.a\[0\] needs a finite number, got '5'"),
    ({"a": [{"$gt": True}]}, r"\$gt at filter\.a\[0\] needs a finite number"),
    ({"a": [{"$lt": math.nan}]}, r"needs a finite number, got nan"),
    ({"a": [{"$between": [5, 1]}]}, r"\$between at filter\.a\[0\] needs \[low, high\]"),
    ({"a": [{"$between": [1]}]}, r"\$between"),
    ({"a": [{"$exists": 1}]}, r"\$exists at filter\.a\[0\] needs true or false"),
    ({"a": [{"$startsWith": 1}]}, r"needs a string"),
    ({"a": [{"$includes": [1]}]}, r"\$includes .* needs a string, number, boolean or null"),
    ({"a": [{"$gt": 1, "$lt": 5}]}, r"filter\.a\[0\] needs exactly one key"),
    ({"a": ["x", {"$startsWith": "y"}]}, r"filter list at filter\.a mixes values and operator"),
    ({"a": [["x"]]}, r"filter value at filter\.a\[0\] must be a string"),
    ({"a": [math.nan]}, r"nan"),
    ({"a": {"b": 1, "$gt": 1}}, r"\$gt at filter\.a must sit under the payload key"),
    ({1: ["x"]}, r"keys must be strings"),
]


@pytest.mark.parametrize(("filter", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_filters_fail_at_definition_naming_operator_and_path(
    filter: dict[Any, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        event_trigger("x", filter=filter)


def test_a_filter_must_be_a_mapping() -> None:
    with pytest.raises(ConfigError, match="filter must be a mapping"):
        event_trigger("x", filter=[{"a": 1}])  # type: ignore[arg-type]


async def test_send_event_starts_only_jobs_whose_operator_filter_matches(store: Any) -> None:
    client = make_client(store)

    async def run(payload: Any, io: IO, ctx: Context) -> None:
        return None

    client.define_job(id="images", run=run, trigger=event_trigger(
        "upload", filter={"path": [{"$startsWith": "images/"}, {"$endsWith": ".png"}]}))
    client.define_job(id="big", run=run, trigger=event_trigger(
        "upload", filter={"size": [{"$gte": 1000}], "tags": [{"$includes": "keep"}]}))

    small_png = await client.send_event("upload", {"path": "images/a.png", "size": 10, "tags": []})
    big_doc = await client.send_event(
        "upload", {"path": "docs/a.pdf", "size": 5000, "tags": ["keep"]})
    jobs = {(await client.get_run(rid)).job_id for rid in small_png.run_ids}
    assert jobs == {"images"}
    jobs = {(await client.get_run(rid)).job_id for rid in big_doc.run_ids}
    assert jobs == {"big"}
