"""Limits on the names users choose that become parts of store keys (event names, event ids,
job ids): one clear `ConfigError` here instead of a DynamoDB ValidationException later.

DynamoDB keys hold at most 2048 bytes (partition) and 1024 bytes (sort); the keys built from
these names add a prefix and a shard suffix, so a name may take up to MAX_NAME_BYTES. SQLite
has no such limit, but one limit for both stores keeps a laptop run from passing where
production fails.
"""

from __future__ import annotations

from .errors import ConfigError

MAX_NAME_BYTES = 1024
"""The longest event name, event id or job id, in UTF-8 bytes."""


def check_name(value: object, *, field: str) -> str:
    """`value` as a non-empty str of valid Unicode of at most MAX_NAME_BYTES, or a ConfigError."""
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{field} must be a non-empty string, got {value!r}")
    try:
        size = len(value.encode())
    except UnicodeEncodeError as exc:
        raise ConfigError(
            f"{field} must be valid Unicode text ({exc.reason}), got {value!r}"
        ) from None
    if size > MAX_NAME_BYTES:
        raise ConfigError(
            f"{field} must be at most {MAX_NAME_BYTES} bytes of UTF-8, got {size} bytes"
        )
    return value
