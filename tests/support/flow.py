"""Helpers for flow control tests: play due runs like a worker, and a second store object
on the same data (another client, as another process would have)."""

from __future__ import annotations

from typing import Any

from triggerfish.core import Client


async def drain(client: Client, *, rounds: int = 1000) -> list[str]:
    """Executes the runs due now, soonest first, until none is due; returns their ids in the
    order executed (a run executed twice is listed twice)."""
    executed: list[str] = []
    for _ in range(rounds):
        due = client.store.list_due_runs(now=client.clock.time(), limit=1)
        if not due:
            return executed
        executed.append(due[0])
        await client.execute(due[0])
    raise AssertionError(f"runs were still due after {rounds} invocations")


def sibling_store(store: Any) -> Any:
    """Another store object on the same SQLite file or DynamoDB table."""
    from triggerfish.core import DynamoDBStore, SQLiteStore

    if isinstance(store, SQLiteStore):
        return SQLiteStore(store.path)
    return DynamoDBStore(store.table_name, endpoint_url=store._endpoint_url, region="us-east-1")
