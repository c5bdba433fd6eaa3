"""Concurrent deliveries of one run: one lease winner, each task executed once (issue 8).

On moto the window between an update's passed ConditionExpression and its write is widened
(20 ms), so a server that does not serialize conditional writes lets every taker win, as the
duplicate-delivery campaign saw before tests/support/servers.py serialized moto's DynamoDB.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from support.jobs import make_client
from triggerfish.core import IO, Client, Context, RunStatus, invoke_trigger
from triggerfish.core.store.base import RunRecord

TAKERS = 4
NOW = 1_800_000_000.0


@pytest.fixture
def wide_race_window(store_kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """On moto, pauses 20 ms between checking an update's condition and applying it."""
    if store_kind != "moto":
        return
    from moto.dynamodb import models

    executor = models.UpdateExpressionExecutor

    def slow_executor(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.02)
        return executor(*args, **kwargs)

    monkeypatch.setattr(models, "UpdateExpressionExecutor", slow_executor)


def at_once(count: int, action: Callable[[int], Any]) -> list[Any]:
    """Calls `action(i)` for i in range(count) from `count` threads released together."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def one(index: int) -> None:
        barrier.wait()
        results[index] = action(index)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_takers_of_a_free_lease_have_exactly_one_winner(
    store: Any, wide_race_window: None
) -> None:
    winners = []
    for n in range(12):
        run_id = f"run_{n}"
        store.create_run(RunRecord(id=run_id, job_id="job", status=RunStatus.PENDING,
                                   created_at=NOW, due_at=NOW))  # fmt: skip
        taken = at_once(TAKERS, lambda i, run_id=run_id: store.acquire_lease(
            run_id, owner=f"owner{i}", now=NOW, lease_expires_at=NOW + 60, expired_owner=None
        ))  # fmt: skip
        won = [t for t in taken if t is not None]
        winners.append(len(won))
        held = store.get_run(run_id)
        assert [t.lease_owner for t in won] == [held.lease_owner]
        assert held.invocation_count == 1
    assert winners == [1] * 12


def test_a_run_delivered_four_times_at_once_executes_each_task_once(
    store: Any, wide_race_window: None
) -> None:
    executed: Counter[tuple[str, str]] = Counter()
    lock = threading.Lock()

    def client_with_job() -> Client:
        client = make_client(store)

        @client.define_job(id="three", trigger=invoke_trigger())
        async def three(payload: Any, io: IO, ctx: Context) -> list[int]:
            async def step(n: int) -> int:
                with lock:
                    executed[(ctx.run.id, f"s{n}")] += 1
                return n

            return [await io.run_task(f"s{n}", lambda n=n: step(n)) for n in range(3)]

        return client

    clients = [client_with_job() for _ in range(TAKERS)]

    run_ids = [asyncio.run(clients[0].invoke("three", {})).id for _ in range(6)]
    for run_id in run_ids:
        at_once(TAKERS, lambda i, run_id=run_id: asyncio.run(
            clients[i].execute(run_id, deadline=clients[i].clock.time() + 60)
        ))  # fmt: skip

    assert executed == Counter({(r, f"s{n}"): 1 for r in run_ids for n in range(3)})
    for run_id in run_ids:
        assert asyncio.run(clients[0].get_run(run_id)).status is RunStatus.COMPLETED
