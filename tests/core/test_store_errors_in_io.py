"""A store that fails inside an io primitive (io.send_event, or a task fn calling the client)
stops the invocation instead of failing the run; the retried send starts no second run."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from support.jobs import make_client
from triggerfish.core import IO, Context, RunStatus, event_trigger, invoke_trigger
from triggerfish.core.errors import StoreError
from triggerfish.core.testing import drive


class FailsOnce:
    """Wraps a store; once armed, the next call of `method` fails as a transient store error."""

    def __init__(self, inner: Any, method: str) -> None:
        self._inner = inner
        self._method = method
        self.failures = 0
        self.armed = False

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if name != self._method:
            return target

        def failing_once(*args: Any, **kwargs: Any) -> Any:
            if self.armed and not self.failures:
                self.failures += 1
                raise StoreError(f"{name} on runs: ProvisionedThroughputExceededException")
            return target(*args, **kwargs)

        return failing_once


@pytest.mark.parametrize("method", ["create_event", "create_run"])
async def test_a_transient_store_error_in_send_event_does_not_fail_the_run(
    store: Any, method: str
) -> None:
    flaky = FailsOnce(store, method)
    client = make_client(flaky)
    sent: Counter[str] = Counter()

    @client.define_job(id="sender", trigger=invoke_trigger())
    async def sender(payload: Any, io: IO, ctx: Context) -> list[str]:
        event = await io.send_event("notify", "order.placed", {"n": 1})
        return list(event["run_ids"])

    @client.define_job(id="listener", trigger=event_trigger("order.placed"))
    async def listener(payload: Any, io: IO, ctx: Context) -> int:
        sent[ctx.run.id] += 1
        return int(payload["n"])

    run = await client.invoke("sender", None)
    flaky.armed = True
    report = await drive(client, run.id)

    assert flaky.failures == 1
    assert report.status is RunStatus.COMPLETED
    child_ids = (await client.get_run(run.id)).output
    listeners = (await client.list_runs(job_id="listener")).runs
    assert [r.id for r in listeners] == child_ids
    assert len(child_ids) == 1


async def test_a_store_error_from_a_client_call_inside_a_task_stops_the_invocation(
    store: Any,
) -> None:
    flaky = FailsOnce(store, "create_run")
    client = make_client(flaky)

    @client.define_job(id="child", trigger=invoke_trigger())
    async def child(payload: Any, io: IO, ctx: Context) -> None:
        return None

    @client.define_job(id="parent", trigger=invoke_trigger())
    async def parent(payload: Any, io: IO, ctx: Context) -> str:
        async def start_child() -> str:
            return (await client.invoke("child", None, id=f"{ctx.run.id}-child")).id

        return str(await io.run_task("start child", start_child))

    run = await client.invoke("parent", None, id="parent-run")
    flaky.armed = True
    first = await client.execute(run.id)

    assert flaky.failures == 1
    assert first.status is not RunStatus.FAILED
    report = await drive(client, run.id)
    assert report.status is RunStatus.COMPLETED
    assert (await client.get_run(run.id)).output == "parent-run-child"
