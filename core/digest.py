"""`sha256_hex`: the SHA-256 of task ids and idempotency keys, on every task's path.

hashlib's `sha256` is OpenSSL's where Python links it, and OpenSSL 3 sets up each hash
object at a cost that dwarfs hashing a task id's few dozen bytes: CPython's own module
gives the same digest ~0.6 µs sooner per call, and a step measured 4-6% faster with it
(docs/performance.md, section 13). A build without that module (some FIPS builds) uses
hashlib's.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["sha256_hex"]


def _builtin_sha256() -> Callable[[bytes], Any]:
    for module in ("_sha2", "_sha256"):  # CPython 3.12+, 3.11
        try:
            return importlib.import_module(module).sha256  # type: ignore[no-any-return]
        except (ImportError, AttributeError):
            continue
    return hashlib.sha256


_sha256 = _builtin_sha256()


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of `data` in 64 hex digits (`hashlib.sha256(data).hexdigest()`)."""
    return _sha256(data).hexdigest()  # type: ignore[no-any-return]
