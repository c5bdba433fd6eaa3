"""POST /api/events refuses an event name too long to be a store key with a 422 naming
`body.name`, before anything is stored (core/names.py; it was a 409 "conflict")."""

from __future__ import annotations

import warnings
from pathlib import Path

from starlette.exceptions import StarletteDeprecationWarning
from triggerfish.core import Client, SQLiteStore

with warnings.catch_warnings():  # starlette now prefers httpx2 for its TestClient; httpx works
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

API_KEY = "names-key-0123456789"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def test_an_event_name_over_256_characters_is_a_422_naming_the_field(tmp_path: Path) -> None:
    from triggerfish.adapters.asgi import create_app

    client = Client("names", store=SQLiteStore(tmp_path / "runs.db"), api_key=API_KEY)
    with TestClient(create_app(client)) as http:
        refused = http.post("/api/events", json={"name": "é" * 257}, headers=AUTH)
        accepted = http.post("/api/events", json={"name": "é" * 256}, headers=AUTH)
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"][0]["loc"] == ["body", "name"]
    assert accepted.status_code == 202
    client.store.close()
