"""lambda_entry.py (adapters/deploy/) finds the user's Client from TRIGGERFISH_JOBS, with clear errors."""

from __future__ import annotations

import gc
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from triggerfish.core.errors import ConfigError

ENTRY = Path(__file__).resolve().parents[2] / "adapters" / "deploy" / "lambda_entry.py"


@pytest.fixture
def entry(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """A fresh copy of the entry module, as Lambda imports it from the zip's root."""
    monkeypatch.delenv("TRIGGERFISH_JOBS", raising=False)
    spec = importlib.util.spec_from_file_location("lambda_entry", ENTRY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    gc.unfreeze()  # building a handler froze the test process's objects: give them back
    gc.enable()


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A user's jobs module on sys.path, holding a stand-in client object."""
    (tmp_path / "entry_user_jobs.py").write_text("client = object()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "entry_user_jobs", raising=False)
    return "entry_user_jobs"


def test_importing_the_entry_module_needs_no_variable_and_no_jobs(entry: ModuleType) -> None:
    assert callable(entry.handler)


def test_load_client_returns_the_named_attribute(entry: ModuleType, user_module: str) -> None:
    client = entry.load_client(f"{user_module}:client")
    assert client is sys.modules[user_module].client


@pytest.mark.parametrize("spec", ["entry_user_jobs", ":client", "entry_user_jobs:", ""])
def test_load_client_rejects_a_name_without_module_and_attribute(
    entry: ModuleType, spec: str
) -> None:
    with pytest.raises(ConfigError, match="TRIGGERFISH_JOBS must be 'module:attribute'"):
        entry.load_client(spec)


def test_load_client_names_the_missing_attribute(entry: ModuleType, user_module: str) -> None:
    with pytest.raises(ConfigError, match="has no attribute 'app'"):
        entry.load_client(f"{user_module}:app")


def test_load_client_lets_a_missing_module_raise_its_own_import_error(
    entry: ModuleType,
) -> None:
    with pytest.raises(ModuleNotFoundError, match="no_such_jobs_module"):
        entry.load_client("no_such_jobs_module:client")


def test_handler_fails_with_the_variable_name_when_it_is_unset(entry: ModuleType) -> None:
    with pytest.raises(ConfigError, match="TRIGGERFISH_JOBS is not set"):
        entry.handler({}, None)


def test_snapstart_hooks_register_only_in_a_snapstart_init(
    entry: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    import snapshot_restore_py

    monkeypatch.setattr(snapshot_restore_py, "_before_snapshot_registry", [])
    monkeypatch.setattr(snapshot_restore_py, "_after_restore_registry", [])
    monkeypatch.delenv("AWS_LAMBDA_INITIALIZATION_TYPE", raising=False)
    assert entry.register_snapstart_hooks() is False
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start")
    assert entry.register_snapstart_hooks() is True
    assert [f for f, _, _ in snapshot_restore_py.get_before_snapshot()] == [entry.before_snapshot]
    assert [f for f, _, _ in snapshot_restore_py.get_after_restore()] == [entry.after_restore]


def test_after_restore_drops_pooled_connections_and_reseeds_random(
    entry: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import random

    (tmp_path / "snap_jobs.py").write_text(
        "import boto3\n"
        "from triggerfish.core import Client, SQLiteStore\n"
        "client = Client('snap', store=SQLiteStore(':memory:'))\n"
        "client.store.sqs = boto3.client('sqs', region_name='us-east-1',\n"
        "    aws_access_key_id='x', aws_secret_access_key='x')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("TRIGGERFISH_JOBS", "snap_jobs:client")
    entry.before_snapshot()
    import snap_jobs

    closed: list[bool] = []
    session = snap_jobs.client.store.sqs._endpoint.http_session
    monkeypatch.setattr(session, "close", lambda: closed.append(True))
    random.seed(7)
    drawn = random.random()
    random.seed(7)
    entry.after_restore()
    assert closed == [True]
    assert random.random() != drawn


def test_the_collector_is_paused_while_building_then_freezes_and_resumes(entry: ModuleType) -> None:
    gc.enable()
    frozen = gc.get_freeze_count()
    with entry.collector_paused():
        assert not gc.isenabled()
        made = [[n] for n in range(1000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen + len(made)


def test_a_collector_the_user_disabled_stays_disabled_and_unfrozen(entry: ModuleType) -> None:
    gc.disable()
    frozen = gc.get_freeze_count()
    with entry.collector_paused():
        pass
    assert not gc.isenabled()
    assert gc.get_freeze_count() == frozen
