"""The settings a test may need are settable on a built `Client`, checked as the constructor
checks them (issue 21, item 5): a user's module builds its client at import time, and a
test swaps the store, the clock, the base URL, ... on that very client."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from triggerfish.core import (
    IO,
    Client,
    ConfigError,
    Context,
    SkippingClock,
    SQLiteStore,
    invoke_trigger,
)
from triggerfish.core.testing import drive
from triggerfish.core.usage import Prices


def _client() -> Client:
    return Client("settings", store=SQLiteStore(":memory:"))


async def test_a_base_url_set_after_construction_makes_the_callback_urls() -> None:
    client = _client()
    client.clock = SkippingClock()
    client.base_url = "https://jobs.example.com/ops"
    urls: list[str] = []

    @client.define_job(id="approval", trigger=invoke_trigger())
    async def approval(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.wait_for_request("approved", urls.append, timeout=60)

    run = await client.invoke("approval")
    await client.execute(run.id)
    assert client.base_url == "https://jobs.example.com/ops"
    assert urls[0].startswith("https://jobs.example.com/ops/api/callbacks/")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("base_url", "jobs.example.com", "base_url must start with http:// or https://"),
        ("base_url", 42, "base_url must start with http:// or https://"),
        ("yield_margin", -1, "yield_margin must be 0 or more seconds"),
        ("yield_margin", float("nan"), "yield_margin"),
        ("prices", {"lambda_memory_mb": 2048}, "prices must be a Prices or None"),
        ("store", "runs.db", "Client store must be a Store"),
        ("clock", 1.0, "Client clock must be a Clock"),
    ],
)
def test_a_wrong_setting_is_refused_and_leaves_the_old_one(
    name: str, value: Any, message: str
) -> None:
    client = _client()
    before = getattr(client, name)
    with pytest.raises(ConfigError, match=message):
        setattr(client, name, value)
    assert getattr(client, name) is before
    with pytest.raises(ConfigError, match=message):
        Client("settings", **{"store": SQLiteStore(":memory:"), name: value})


def test_each_setting_set_later_is_what_the_runtime_sees() -> None:
    client = _client()
    store, clock, prices = SQLiteStore(":memory:"), SkippingClock(), Prices(lambda_memory_mb=2048)
    client.store, client.clock, client.prices = store, clock, prices
    client.base_url = "http://127.0.0.1:8000"
    client.yield_margin = timedelta(seconds=2)
    client.retention = timedelta(days=1)
    client.environment, client.organization = "test", "acme"
    runtime = client.runtime
    assert (runtime.store, runtime.clock, runtime.prices) == (store, clock, prices)
    assert runtime.base_url == "http://127.0.0.1:8000" and runtime.yield_margin == 2.0
    assert runtime.retention_seconds == 86400.0
    assert (runtime.environment, runtime.organization) == ("test", "acme")
    client.base_url = None
    assert client.base_url is None


async def test_a_client_whose_clock_was_swapped_skips_a_days_wait(triggerfish_use: Any) -> None:
    client = triggerfish_use(_client())  # the pytest plugin's swap: the setters above

    @client.define_job(id="patient", trigger=invoke_trigger())
    async def patient(payload: Any, io: IO, ctx: Context) -> str:
        await io.wait("a day", seconds=86400)
        return "done"

    run = await client.invoke("patient")
    assert (await drive(client, run.id)).status.value == "COMPLETED"
