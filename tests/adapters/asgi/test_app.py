"""`create_app` options and its lifespan: the key, the body limit, the local dispatcher."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from triggerfish.adapters.asgi import create_app
from triggerfish.core import Client, ConfigError, LocalDispatcher, SQLiteStore, invoke_trigger


def _client(tmp_path: Path, **options: Any) -> Client:
    client = Client("app", store=SQLiteStore(tmp_path / "app.db"), **options)

    @client.define_job(id="noop", trigger=invoke_trigger())
    async def noop(payload: Any, io: Any, ctx: Any) -> Any:
        return payload

    return client


def test_create_app_without_any_api_key_raises_a_config_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="api_key"):
        create_app(_client(tmp_path))


def test_create_app_takes_the_client_api_key_when_none_is_passed(tmp_path: Path) -> None:
    app = create_app(_client(tmp_path, api_key="from-client"), dashboard=False)
    assert app.state.triggerfish_client.api_key == "from-client"


def test_create_app_refuses_a_body_limit_below_one_byte(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="max_body_bytes must be at least 1, got 0"):
        create_app(_client(tmp_path, api_key="k"), max_body_bytes=0)


async def test_a_smaller_body_limit_answers_413_naming_the_limit(tmp_path: Path) -> None:
    client = _client(tmp_path)
    app = create_app(client, api_key="k", max_body_bytes=10, dashboard=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.post(
                "/api/jobs/noop/invoke",
                json={"payload": "x" * 20},
                headers={"Authorization": "Bearer k"},
            )
    assert response.status_code == 413
    assert response.json()["error"]["max_body_bytes"] == 10


async def test_the_lifespan_gives_a_client_without_dispatcher_a_local_one_and_removes_it(
    tmp_path: Path,
) -> None:
    client = _client(tmp_path)
    app = create_app(client, api_key="k", dashboard=False)
    async with app.router.lifespan_context(app):
        assert isinstance(client.dispatcher, LocalDispatcher)
    assert client.dispatcher is None


async def test_the_lifespan_leaves_a_dispatcher_the_client_already_has(tmp_path: Path) -> None:
    own = LocalDispatcher(_client(tmp_path))
    client = _client(tmp_path, dispatcher=own)
    app = create_app(client, api_key="k", dashboard=False)
    async with app.router.lifespan_context(app):
        assert client.dispatcher is own
    assert client.dispatcher is own


async def test_without_a_lifespan_the_first_request_starts_the_dispatcher(tmp_path: Path) -> None:
    client = _client(tmp_path)
    app = create_app(client, api_key="k", dashboard=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        assert (await http.get("/health")).status_code == 200
    assert isinstance(client.dispatcher, LocalDispatcher)
    await app.state.triggerfish_runtime.stop()
    assert client.dispatcher is None


async def test_dashboard_false_serves_no_pages(tmp_path: Path) -> None:
    app = create_app(_client(tmp_path), api_key="k", dashboard=False)
    paths = {getattr(route, "path", None) for route in app.routes}
    assert "/login" not in paths and "/api" in paths
    assert "/login" in {
        getattr(r, "path", None) for r in create_app(_client(tmp_path), api_key="k").routes
    }
