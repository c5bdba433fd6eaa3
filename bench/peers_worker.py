"""One peer's N trivial durable steps; runs inside bench/.peers-venv, prints one JSON line.

    bench/.peers-venv/bin/python bench/peers_worker.py aws|aws-sqlite|dbos|dbos-wal STEPS

Called by bench/peers.py (never imported by the project: the peers are not dependencies).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def aws(steps: int, *, sqlite: bool) -> tuple[float, float]:
    """The AWS durable execution SDK under its local test runner; one checkpoint per step."""
    from aws_durable_execution_sdk_python import DurableContext, durable_execution
    from aws_durable_execution_sdk_python_testing import DurableFunctionTestRunner

    @durable_execution
    def handler(event: Any, context: DurableContext) -> int:
        for i in range(steps):
            context.step(lambda _, i=i: i, name=f"s{i}")
        return steps

    store = None
    folder = tempfile.mkdtemp(prefix=".peers-aws-", dir=Path(__file__).parent)
    if sqlite:
        from aws_durable_execution_sdk_python_testing.stores.sqlite import SQLiteExecutionStore

        store = SQLiteExecutionStore.create_and_initialize(Path(folder) / "aws.db")
    with DurableFunctionTestRunner(handler=handler, store=store) as runner:
        started, cpu_started = time.perf_counter(), time.process_time()
        result = runner.run(input="null", execution_timeout=3600)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if str(getattr(result.status, "value", result.status)).upper() not in {"SUCCEEDED", "SUCCESS"}:
        raise SystemExit(f"AWS runner ended {result.status}: {result}")
    return elapsed, cpu


def dbos(steps: int, *, wal: bool) -> tuple[float, float]:
    """DBOS with its SQLite system database: one INSERT of operation_outputs per step."""
    import sqlalchemy as sa
    from dbos import DBOS, DBOSConfig

    if wal:

        @sa.event.listens_for(sa.engine.Engine, "connect")
        def pragmas(dbapi_conn: Any, _: Any) -> None:
            dbapi_conn.execute("PRAGMA journal_mode=WAL")
            dbapi_conn.execute("PRAGMA synchronous=NORMAL")

    folder = tempfile.mkdtemp(prefix=".peers-dbos-", dir=Path(__file__).parent)
    config: DBOSConfig = {"name": "bench", "system_database_url": f"sqlite:///{folder}/dbos.db"}
    DBOS(config=config)

    @DBOS.step()
    def step(i: int) -> int:
        return i

    @DBOS.workflow()
    def workflow(n: int) -> int:
        for i in range(n):
            step(i)
        return n

    DBOS.launch()
    try:
        started, cpu_started = time.perf_counter(), time.process_time()
        assert workflow(steps) == steps
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    finally:
        DBOS.destroy()
    return elapsed, cpu


def main() -> None:
    peer, steps = sys.argv[1], int(sys.argv[2])
    logging.disable(logging.WARNING)
    os.environ.setdefault("DBOS__CLOUD", "false")
    if peer in {"aws", "aws-sqlite"}:
        elapsed, cpu = aws(steps, sqlite=peer == "aws-sqlite")
    elif peer in {"dbos", "dbos-wal"}:
        elapsed, cpu = dbos(steps, wal=peer == "dbos-wal")
    else:
        raise SystemExit(f"unknown peer {peer!r}")
    print(json.dumps({"peer": peer, "steps": steps, "ms_per_step": 1000 * elapsed / steps,
                      "cpu_ms_per_step": 1000 * cpu / steps}))  # fmt: skip


if __name__ == "__main__":
    main()
