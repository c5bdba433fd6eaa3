"""`io.background_fetch(retry=...)`: one RetryPolicy, or policies by response status (v2).

    RetryPolicy                    -> 5xx and 429 answers and network errors are retried
    {"500-599": RetryPolicy(...),  -> an answer whose status matches a pattern fails the
     "429": {"limit": 3, ...},        attempt and is retried by that pattern's policy (the
     "5xx": {"strategy": "backoff",   first pattern that matches, in the mapping's order);
             "minTimeoutInMs": 500}}  other 5xx and 429 answers fail the task at once, other
                                      statuses are returned; a network error is retried
                                      only under "all"

Patterns, as v2 writes them: "429", "500-599", "5xx", "401,403,404" and "all". A policy is
a RetryPolicy or a dict of its fields; v2's names are accepted too (`strategy` "backoff",
`limit`, `factor`, `minTimeoutInMs`, `maxTimeoutInMs`, `randomize`). Anything else is a
ConfigError naming `retry`, raised before anything is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from .errors import ConfigError
from .retry import RetryPolicy

__all__ = ["ALL_STATUSES", "FetchRetry", "checked_fetch_retry", "is_failed_status", "policy_for"]

FetchRetry = RetryPolicy | dict[str, RetryPolicy]
"""What a FetchMessage carries: one policy, or policies by status pattern (checked)."""

ALL_STATUSES = "all"
"""The pattern every failure matches, network errors (no status) included."""

_V2_FIELDS = {"minTimeoutInMs": "min_timeout", "maxTimeoutInMs": "max_timeout"}
_POLICY_FIELDS = frozenset({"limit", "factor", "min_timeout", "max_timeout", "randomize"})


def checked_fetch_retry(value: object, *, where: str) -> FetchRetry | None:
    """`retry` as a RetryPolicy or a {pattern: RetryPolicy} dict; a ConfigError naming
    `retry` (and the pattern or field) for anything else."""
    if value is None or isinstance(value, RetryPolicy):
        if value is not None and value.retry_on is not None:
            raise ConfigError(
                f"{where}: retry_on is not supported (the fetch retries answers by status and"
                " network errors); use io.run_task for a custom retry_on"
            )
        return value
    if not isinstance(value, Mapping) or not value:
        raise ConfigError(
            f"{where}: retry must be a RetryPolicy or a non-empty mapping of status patterns"
            f' ("429", "500-599", "5xx", "all") to RetryPolicy or dict, got {value!r}'
        )
    checked: dict[str, RetryPolicy] = {}
    for pattern, policy in value.items():
        if not isinstance(pattern, str) or not _is_pattern(pattern):
            raise ConfigError(
                f"{where}: retry pattern {pattern!r} is not a status (100-599), a range"
                ' ("500-599"), a class ("5xx"), a comma list ("401,403") or "all"'
            )
        checked[pattern.strip()] = _checked_policy(policy, where=f"{where}: retry[{pattern!r}]")
    return checked


def _checked_policy(value: object, *, where: str) -> RetryPolicy:
    if isinstance(value, RetryPolicy):
        if value.retry_on is not None:
            raise ConfigError(f"{where}: retry_on is not supported for a fetch")
        return value
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a RetryPolicy or a dict of its fields, got {value!r}")
    fields: dict[str, Any] = {}
    for name, field in value.items():
        if name == "strategy":
            if field != "backoff":
                raise ConfigError(
                    f'{where}: strategy must be "backoff" (v2\'s "headers" strategy is not'
                    f" supported), got {field!r}"
                )
            continue
        if name in _V2_FIELDS:  # v2's milliseconds
            if isinstance(field, bool) or not isinstance(field, int | float):
                raise ConfigError(f"{where}: {name} must be a number of ms, got {field!r}")
            fields[_V2_FIELDS[name]] = field / 1000
        elif name in _POLICY_FIELDS:
            fields[name] = field
        else:
            known = ", ".join(sorted(_POLICY_FIELDS | set(_V2_FIELDS) | {"strategy"}))
            raise ConfigError(f"{where}: unknown field {name!r} (known: {known})")
    try:
        return RetryPolicy(**fields)
    except (ValidationError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _is_pattern(pattern: str) -> bool:
    pattern = pattern.strip()
    if pattern == ALL_STATUSES:
        return True
    if "," in pattern:
        return all(_is_code(p.strip()) for p in pattern.split(","))
    if "-" in pattern:
        start, _, end = pattern.partition("-")
        return _is_code(start.strip()) and _is_code(end.strip()) and int(start) <= int(end)
    if len(pattern) == 3 and pattern.endswith("xx"):
        return pattern[0] in "12345"
    return _is_code(pattern)


def _is_code(text: str) -> bool:
    return text.isdigit() and len(text) == 3 and 100 <= int(text) <= 599


def _matches(status: int | None, pattern: str) -> bool:
    if pattern == ALL_STATUSES:
        return True
    if status is None:
        return False
    if "," in pattern:
        return any(int(p) == status for p in pattern.split(","))
    if "-" in pattern:
        start, _, end = pattern.partition("-")
        return int(start) <= status <= int(end)
    if pattern.endswith("xx"):
        return status // 100 == int(pattern[0])
    return status == int(pattern)


def is_failed_status(retry: FetchRetry | None, status: int) -> bool:
    """True when an answer with `status` fails the attempt: 5xx and 429 always; with a
    mapping, also any status one of its patterns matches (so that it is retried)."""
    if status >= 500 or status == 429:
        return True
    return isinstance(retry, dict) and any(_matches(status, p) for p in retry)


def policy_for(retry: FetchRetry | None, status: int | None) -> RetryPolicy | None:
    """The policy that retries a failure with `status` (None: a network error), if any."""
    if retry is None or isinstance(retry, RetryPolicy):
        return retry
    return next((policy for pattern, policy in retry.items() if _matches(status, pattern)), None)
