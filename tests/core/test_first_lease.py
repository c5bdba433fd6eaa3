"""The lease comes first (issue 9, cold start): one conditional write that returns the run.

A run's first invocation reads nothing before its work (no `get_run`, no history query);
a refused lease reads the run once to answer as before (early, final, leased elsewhere).
"""

from __future__ import annotations

from typing import Any

from support.jobs import make_client
from triggerfish.core import IO, Context, RunStatus, SkippingClock, invoke_trigger


class CountingStore:
    """Wraps a store and records the name of every store method the engine calls."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if not callable(attribute) or name.startswith("_"):
            return attribute

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return attribute(*args, **kwargs)

        return counted

    def take(self) -> list[str]:
        calls, self.calls = self.calls, []
        return calls


async def test_the_first_lease_reads_nothing_and_a_refused_one_reads_the_run(store: Any) -> None:
    counting = CountingStore(store)
    clock = SkippingClock()
    client = make_client(counting, clock=clock)
    executed: list[str] = []

    @client.define_job(id="two", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> list[str]:
        first = await io.run_task("a", lambda: executed.append("a") or "a")
        await io.wait("pause", seconds=60)
        return [first, await io.run_task("b", lambda: executed.append("b") or "b")]

    run = await client.invoke("two", None)
    counting.take()

    waiting = await client.execute(run.id)
    first = counting.take()
    assert waiting.status is RunStatus.WAITING and waiting.resume_at is not None
    assert first[0] == "lease_run", first
    assert not {"get_run", "acquire_lease", "load_history"} & set(first), first

    early = await client.execute(run.id)  # woken before its time: refused, read, told when
    assert counting.take() == ["lease_run", "get_run"]
    assert (early.status, early.resume_at) == (RunStatus.WAITING, waiting.resume_at)

    clock.advance_to(waiting.resume_at)
    done = await client.execute(run.id)
    second = counting.take()
    assert done.status is RunStatus.COMPLETED
    assert second[:2] == ["lease_run", "load_history"], "a later lease replays its history"
    assert "get_run" not in second, second
    assert executed == ["a", "b"], "the task of the first invocation was replayed, not rerun"
    assert (await client.get_run(run.id)).output == ["a", "b"]
    counting.take()

    again = await client.execute(run.id)  # a duplicate message for a finished run
    assert counting.take() == ["lease_run", "get_run"]
    assert again.status is RunStatus.COMPLETED


async def test_a_run_leased_elsewhere_is_left_alone(store: Any) -> None:
    counting = CountingStore(store)
    client = make_client(counting)

    @client.define_job(id="one", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> str:
        return str(await io.run_task("a", lambda: "a"))

    run = await client.invoke("one", None)
    now = client.clock.time()
    held = store.acquire_lease(run.id, owner="other", now=now, lease_expires_at=now + 600,
                               expired_owner=None)  # fmt: skip
    assert held is not None
    counting.take()

    outcome = await client.execute(run.id)
    assert counting.take() == ["lease_run", "get_run"]
    assert outcome.status is RunStatus.EXECUTING
    assert store.get_run(run.id).lease_owner == "other"


async def test_a_first_invocation_on_dynamodb_is_three_calls(moto_url: str) -> None:
    from support.aws import make_dynamodb_store

    store = make_dynamodb_store(moto_url)
    client = make_client(store)
    operations: list[str] = []
    store._db.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: operations.append(model.name)
    )

    @client.define_job(id="one", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> str:
        return str(await io.run_task("a", lambda: "a"))

    run = await client.invoke("one", None)
    operations.clear()
    outcome = await client.execute(run.id)

    assert outcome.status is RunStatus.COMPLETED
    # The lease (returning the run), the task, the end: no GetItem and no Query first.
    assert operations == ["UpdateItem", "PutItem", "UpdateItem"], operations
