"""A custom webhook `verify` reads headers in any case, as v2's `Headers` allowed."""

from __future__ import annotations

import hashlib
import hmac

from triggerfish.core import webhook_trigger


def _cal_verify(body: bytes, headers: object, secret: str) -> bool:
    given = headers.get("X-Cal-Signature-256", "")  # type: ignore[attr-defined]
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return bool(given) and hmac.compare_digest(given, expected)


def test_verify_finds_a_header_by_its_mixed_case_name_whatever_case_it_came_in() -> None:
    trigger = webhook_trigger("cal", secret="s3cret", verify=_cal_verify)
    body = b'{"triggerEvent": "BOOKING_CREATED"}'
    signature = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()

    assert trigger.is_authentic(body, {"x-cal-signature-256": signature})
    assert trigger.is_authentic(body, {"X-CAL-SIGNATURE-256": signature})
    assert not trigger.is_authentic(body, {"x-cal-signature-256": "0" * 64})
    assert not trigger.is_authentic(body, {})


def test_verify_sees_the_headers_listed_lower_case() -> None:
    seen: list[list[str]] = []

    def record(body: bytes, headers: object, secret: str) -> bool:
        seen.append(sorted(headers))  # type: ignore[call-overload]
        return True

    webhook_trigger("any", secret="s", verify=record).is_authentic(b"", {"X-One": "1", "two": "2"})
    assert seen == [["two", "x-one"]]
