"""Fixtures for the AWS durable-execution scenarios: a client per store, one uvicorn per module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aws_durable_support import SwitchApp, load_threaded_server, make_client
from triggerfish.core import Client


@pytest.fixture
def client(sqlite_or_moto_store: Any) -> Client:
    """A client with a SkippingClock on SQLite or DynamoDB (moto server)."""
    return make_client(sqlite_or_moto_store)


@pytest.fixture(scope="module")
def switch_server() -> Iterator[tuple[SwitchApp, str]]:
    """uvicorn serving a `SwitchApp` from a thread, for the whole module."""
    switch = SwitchApp()
    with load_threaded_server()(switch) as server:
        yield switch, server.url


@pytest.fixture
def served(client: Client, switch_server: tuple[SwitchApp, str]) -> Iterator[Client]:
    """The client's ASGI app under uvicorn; callback URLs point at it."""
    from triggerfish.adapters.asgi import create_app

    switch, url = switch_server
    switch.app = create_app(client, api_key="scenario-key-0123456789", dashboard=False)
    client.runtime.base_url = url
    yield client
    switch.app = None
