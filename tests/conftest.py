"""Fixtures every test may use: a clean environment, real servers and one store per backend."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.aws import make_dynamodb_store
from support.servers import dynalite_server, moto_server

STORE_KINDS = ("sqlite", "moto", "dynalite")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No TRIGGERFISH_* or AWS_* variable leaks in; fake credentials for local servers."""
    for name in list(os.environ):
        if name.startswith(("TRIGGERFISH_", "AWS_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture(scope="session")
def dynalite_url() -> Iterator[str]:
    with dynalite_server() as url:
        yield url


@pytest.fixture(params=STORE_KINDS)
def store_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def store(store_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A fresh store of each backend: SQLite file, DynamoDB on moto, DynamoDB on dynalite."""
    if store_kind == "sqlite":
        from triggerfish.core import SQLiteStore

        made: Any = SQLiteStore(tmp_path / "runs.db")
    else:
        url = request.getfixturevalue(f"{store_kind}_url")
        made = make_dynamodb_store(url)
    yield made
    made.close()


@pytest.fixture(params=("sqlite", "moto"))
def sqlite_or_moto_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A fresh SQLite or moto-server store, for tests that need not run on dynalite too."""
    if request.param == "sqlite":
        from triggerfish.core import SQLiteStore

        made: Any = SQLiteStore(tmp_path / "runs.db")
    else:
        made = make_dynamodb_store(request.getfixturevalue("moto_url"))
    yield made
    made.close()
