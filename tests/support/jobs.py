"""Small helpers for building clients in tests."""

from __future__ import annotations

from typing import Any

from triggerfish.core import Client, SkippingClock


def make_client(store: Any, **options: Any) -> Client:
    """A client on `store` with a clock that skips waits."""
    options.setdefault("clock", SkippingClock())
    return Client("test", store=store, **options)
