"""The one rule for ids a caller chooses: event ids (`send_event(id=)`) and run ids
(`invoke(id=)`), the same through the client, the HTTP API, the Lambda handler and the CLI.

An id becomes part of a store key (``EVENT#<id>``, ``RUN#<id>``) and of URLs
(``/api/events/{id}/cancel``, ``/api/runs/{id}``, the dashboard's ``/runs/{id}``), so it
is kept to characters that need no escaping in a URL path and no thought in a shell:

    letters, digits and  . _ : - @ + = ~     1 to 256 characters (256 bytes: ASCII only)

That takes UUIDs, ``evt_3N...`` style ids, e-mail addresses (``signup-ada@example.com``),
``order:42``, ISO timestamps and base64url; it refuses ``/`` (a path separator), spaces,
``?``, ``#`` and ``%`` (URL syntax), and non-ASCII text (one id, one spelling). 256 bytes
is far inside DynamoDB's 1,024-byte sort-key and 2,048-byte partition-key limits with
the key prefixes and shard suffixes added.
"""

from __future__ import annotations

import re

from .errors import ConfigError

MAX_ID_CHARS = 256
"""The longest caller-chosen id."""
ID_CHARS = "A-Za-z0-9._:@+=~-"
"""The characters of a caller-chosen id, as a regular-expression character class body."""
ID_PATTERN = rf"^[{ID_CHARS}]{{1,{MAX_ID_CHARS}}}$"
"""The rule as a pattern (pydantic `Field(pattern=)`, the OpenAPI schema)."""
ID_RULE = f"1 to {MAX_ID_CHARS} letters, digits or . _ : - @ + = ~ characters"
"""The rule in words, for error messages and docs."""
_ID = re.compile(ID_PATTERN)


def is_valid_id(value: object) -> bool:
    """True when `value` is a str that follows the rule."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def check_id(value: object, *, field: str) -> str:
    """`value` when it follows the rule, else a ConfigError naming `field` and the rule."""
    if isinstance(value, str) and _ID.fullmatch(value):
        return value
    if isinstance(value, str) and len(value) > MAX_ID_CHARS:
        shown = f"{len(value)} characters"
    else:
        shown = repr(value)
    raise ConfigError(f"{field} must be {ID_RULE}, got {shown}")
