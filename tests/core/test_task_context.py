"""A task fn may take one parameter, the `TaskContext` (issue 16 item 6): v2's `task`."""

from __future__ import annotations

import functools
from typing import Any

from support.jobs import make_client
from triggerfish.core import (
    IO,
    Context,
    RetryPolicy,
    RunStatus,
    TaskContext,
    invoke_trigger,
)
from triggerfish.core.task_context import takes_context
from triggerfish.core.testing import drive

FAST = RetryPolicy(limit=3, min_timeout=0.01, randomize=False)


async def test_a_fn_taking_one_parameter_gets_the_task_context(store: Any) -> None:
    client = make_client(store)
    seen: list[TaskContext] = []

    @client.define_job(id="pay", trigger=invoke_trigger())
    async def pay(payload: Any, io: IO, ctx: Context) -> Any:
        async def charge(task: TaskContext) -> str:  # an async fn
            seen.append(task)
            if task.attempt < 2:
                raise ConnectionError("card network down")
            return task.idempotency_key

        def receipt(task: TaskContext) -> str:  # a sync fn (run in a thread)
            seen.append(task)
            return task.key

        key = await io.run_task("charge", charge, retry=FAST)
        await io.wait("settle", seconds=10)
        return [key, await io.run_task("receipt", receipt)]

    first = await client.invoke("pay", None)
    second = await client.invoke("pay", None)
    assert (await drive(client, first.id)).status is RunStatus.COMPLETED
    assert (await drive(client, second.id)).status is RunStatus.COMPLETED

    done = await client.get_run(first.id)
    one, two, three = seen[:3]
    assert (one.key, one.attempt, one.run_id) == ("charge", 1, first.id)
    assert (two.key, two.attempt) == ("charge", 2)
    assert one.idempotency_key == two.idempotency_key == done.output[0]  # across attempts
    assert (three.key, three.attempt, three.callback_url) == ("receipt", 1, None)
    assert done.output[1] == "receipt"
    assert len(one.idempotency_key) <= 255 and one.idempotency_key.isalnum()  # Stripe's rule
    assert three.idempotency_key != one.idempotency_key  # another task
    other = await client.get_run(second.id)
    assert other.output[0] != one.idempotency_key  # another run
    assert len(seen) == 6  # the replays after the wait called no fn again


async def test_fns_without_a_required_parameter_are_called_as_before(store: Any) -> None:
    client = make_client(store)

    class Step:
        def __call__(self, task: TaskContext) -> str:
            return f"object {task.key}"

        def method(self, task: TaskContext) -> str:
            return f"method {task.key}"

    def two(prefix: str, task: TaskContext) -> str:
        return f"{prefix} {task.key}"

    @client.define_job(id="kinds", trigger=invoke_trigger())
    async def kinds(payload: Any, io: IO, ctx: Context) -> Any:
        outputs = [await io.run_task("plain", lambda: "plain")]
        for n in range(2):
            outputs.append(await io.run_task(f"default {n}", lambda n=n: f"default {n}"))
        outputs.append(await io.run_task("object", Step()))
        outputs.append(await io.run_task("method", Step().method))
        outputs.append(await io.run_task("partial", functools.partial(two, "partial")))
        outputs.append(await io.run_task("lambda", lambda task: task.attempt))
        return outputs

    run = await client.invoke("kinds", None)
    assert (await drive(client, run.id)).status is RunStatus.COMPLETED
    assert (await client.get_run(run.id)).output == [
        "plain", "default 0", "default 1", "object object", "method method",
        "partial partial", 1,
    ]  # fmt: skip


async def test_a_replay_hands_a_subtask_the_same_key_as_when_it_ran(store: Any) -> None:
    client = make_client(store)
    keys: list[str] = []

    @client.define_job(id="nested", trigger=invoke_trigger())
    async def nested(payload: Any, io: IO, ctx: Context) -> Any:
        async def parent(task: TaskContext) -> str:
            keys.append(task.idempotency_key)

            async def child(sub: TaskContext) -> str:
                keys.append(sub.idempotency_key)
                return sub.idempotency_key

            inner = await io.run_task("child", child)
            await io.wait("pause", seconds=5)  # the parent's fn runs again after the wait
            return inner

        return await io.run_task("parent", parent)

    run = await client.invoke("nested", None)
    assert (await drive(client, run.id)).status is RunStatus.COMPLETED
    parent_key, child_key, parent_again = keys
    assert parent_again == parent_key and child_key != parent_key
    assert (await client.get_run(run.id)).output == child_key


def test_takes_context_reads_the_signature() -> None:
    def none() -> None: ...
    def one(task: Any) -> None: ...
    def defaulted(task: Any = None) -> None: ...
    def star(*args: Any) -> None: ...

    def two(a: Any, task: Any) -> None: ...

    assert [takes_context(f) for f in (none, one, defaulted, star, print)] == [
        False, True, False, False, False]  # fmt: skip
    partials = (functools.partial(one, 1), functools.partial(two, 1),
                functools.partial(two, task=1), functools.partial(two, 1, 2))  # fmt: skip
    assert [takes_context(p) for p in partials] == [False, True, True, False]
