"""A process killed with SIGKILL mid-run: a new process finishes the run, nothing twice, nothing lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from triggerfish.core import RunStatus, TaskStatus

WORKER = Path(__file__).with_name("crash_worker.py")
LEASE_SKIP_SECONDS = 3600.0
"""The second process's clock runs this far ahead, so the killed lease has expired."""
LOCAL_RESUME_BOUND_SECONDS = 120.0
"""A generous bound on a restarted local server finishing the run (its lease: 30 s + 5 s)."""


def worker(*args: str, **settings: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **settings}
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args], stdout=subprocess.PIPE, text=True, env=env
    )


@pytest.fixture(params=["sqlite", "moto", "dynalite"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str, Any]:
    if request.param == "sqlite":
        from triggerfish.core import SQLiteStore

        path = str(tmp_path / "crash.db")
        return "sqlite", path, SQLiteStore(path)
    from support.aws import make_dynamodb_store

    store = make_dynamodb_store(request.getfixturevalue(f"{request.param}_url"))
    return "dynamodb", f"{store._endpoint_url}|{store.table_name}", store


def _kill_mid_run(
    kind: str, where: str, effects: Path, *, mode: str | None, **settings: str
) -> tuple[str, list[str]]:
    """Creates a run, starts a worker on it (`mode`, else the run id), SIGKILLs it after 4 of
    its 12 side effects; returns the run id and the side effects done before the kill."""
    creator = worker(kind, where, "new", str(effects))
    run_id = creator.communicate(timeout=60)[0].strip()
    victim = worker(kind, where, mode or run_id, str(effects), **settings)
    deadline = time.monotonic() + 30
    while effects.read_text().count("\n") < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    killed_at = effects.read_text().splitlines()
    assert 4 <= len(killed_at) < 12, "the kill must land in the middle of the run"
    return run_id, killed_at


def test_sigkill_mid_run_then_a_new_process_finishes_it(
    location: tuple[str, str, Any], tmp_path: Path
) -> None:
    kind, where, store = location
    effects = tmp_path / "effects.txt"
    effects.touch()
    run_id, killed_at = _kill_mid_run(kind, where, effects, mode=None)

    rescuer = worker(kind, where, run_id, str(effects), str(LEASE_SKIP_SECONDS))
    output = rescuer.communicate(timeout=120)[0]
    assert rescuer.returncode == 0
    assert output.strip().splitlines()[-1] == "COMPLETED"

    history = store.load_history(run_id)
    recorded = Counter(task.key for task in history.tasks.values())
    assert recorded == Counter({f"t{n}": 1 for n in range(12)})
    assert all(t.status is TaskStatus.COMPLETED for t in history.tasks.values())
    effects_count = Counter(effects.read_text().splitlines())
    assert set(effects_count) == {f"t{n}" for n in range(12)}
    assert [key for key, times in effects_count.items() if times > 1] in ([], [killed_at[-1]])
    run = store.get_run(run_id)
    assert run.status is RunStatus.COMPLETED and run.lost_leases == 0


@pytest.mark.parametrize(
    ("location", "settings"),
    [("sqlite", {}), ("moto", {"CRASH_WORKER_LEASE_SECONDS": "3"})],
    indirect=["location"],
)
def test_a_local_server_killed_mid_run_is_resumed_by_the_next_within_a_minute(
    location: tuple[str, str, Any], settings: dict[str, str], tmp_path: Path
) -> None:
    """No clock jump: the deadline-less local server holds a short lease, renewed as it runs
    (on SQLite the real 30 s lease; on moto one of 3 s, the same path in a tenth the time)."""
    kind, where, store = location
    effects = tmp_path / "effects.txt"
    effects.touch()
    run_id, killed_at = _kill_mid_run(kind, where, effects, mode="serve", **settings)
    assert store.get_run(run_id).status is RunStatus.EXECUTING

    rescuer = worker(kind, where, "serve", str(effects), **settings)
    try:
        output = rescuer.communicate(timeout=LOCAL_RESUME_BOUND_SECONDS)[0]
    finally:
        rescuer.kill()
    assert output.strip().splitlines() == ["COMPLETED"]

    history = store.load_history(run_id)
    assert Counter(task.key for task in history.tasks.values()) == Counter(
        {f"t{n}": 1 for n in range(12)}
    )
    effects_count = Counter(effects.read_text().splitlines())
    assert [key for key, times in effects_count.items() if times > 1] in ([], [killed_at[-1]])


LAMBDA_LENGTH = {"CRASH_WORKER_DEADLINE_SECONDS": "900", "CRASH_WORKER_LEASE_SECONDS": "2"}
"""15-minute invocations whose renewable leases are shortened (40 s -> 2 s) for the test."""


def test_a_process_killed_early_in_a_lambda_length_invocation_is_resumed_at_lease_expiry(
    location: tuple[str, str, Any], tmp_path: Path
) -> None:
    """No clock jump: before issue 17 the lease lasted until the deadline (15 minutes), so the
    rescuer would find the run leased until then; now it lasts a (renewed) short lease."""
    kind, where, store = location
    effects = tmp_path / "effects.txt"
    effects.touch()
    run_id, killed_at = _kill_mid_run(kind, where, effects, mode=None, **LAMBDA_LENGTH)
    killed = store.get_run(run_id)
    assert killed.status is RunStatus.EXECUTING and killed.lease_owner is not None
    assert killed.lease_expires_at < killed.started_at + 60  # not deadline + grace

    rescuer = worker(kind, where, run_id, str(effects), **LAMBDA_LENGTH)
    output = rescuer.communicate(timeout=120)[0]

    assert output.strip().splitlines()[-1] == "COMPLETED"
    history = store.load_history(run_id)
    assert Counter(task.key for task in history.tasks.values()) == Counter(
        {f"t{n}": 1 for n in range(12)}
    )
    effects_count = Counter(effects.read_text().splitlines())
    assert [key for key, times in effects_count.items() if times > 1] in ([], [killed_at[-1]])
    run = store.get_run(run_id)
    assert run.status is RunStatus.COMPLETED and run.crashes == 0 and run.timeouts == 0
