"""Priority on send_event and invoke (issue 19 item 5): a queue is ordered by priority,
then age."""

from __future__ import annotations

from typing import Any

import pytest
from support.flow import drain
from support.jobs import make_client
from triggerfish.core import IO, ConfigError, Context, RunStatus, event_trigger


def queue_behind_holder(client: Any, order: list[str]) -> None:
    """One job, concurrency_limit=1; a run with "others" executes them while it holds the slot."""

    @client.define_job(id="report", trigger=event_trigger("report.requested"), concurrency_limit=1)
    async def job(payload: dict[str, Any], io: IO, ctx: Context) -> None:
        async def start() -> None:
            order.append(payload["name"])
            for run_id in payload.get("others", []):
                await client.execute(run_id)

        await io.run_task("start", start)


async def test_higher_priority_leaves_the_queue_first_then_the_oldest(store: Any) -> None:
    order: list[str] = []
    client = make_client(store)
    queue_behind_holder(client, order)
    sent = {}
    for name, priority in (("low-1", 0), ("urgent-1", 10), ("low-2", 0), ("urgent-2", 10),
                           ("background", -5)):  # fmt: skip
        event = await client.send_event("report.requested", {"name": name}, priority=priority)
        sent[name] = event.run_ids[0]
    holder = await client.send_event("report.requested",
                                     {"name": "holder", "others": list(sent.values())})  # fmt: skip

    await client.execute(holder.run_ids[0])
    assert (await client.get_run(sent["urgent-1"], tasks=False)).priority == 10
    await drain(client)

    assert order == ["holder", "urgent-1", "urgent-2", "low-1", "low-2", "background"]


async def test_invoke_takes_a_priority_too(sqlite_or_moto_store: Any) -> None:
    order: list[str] = []
    client = make_client(sqlite_or_moto_store)
    queue_behind_holder(client, order)
    later = await client.invoke("report", {"name": "plain"})
    first = await client.invoke("report", {"name": "first"}, priority=1)
    holder = await client.invoke("report", {"name": "holder", "others": [later.id, first.id]})

    assert (await client.execute(holder.id)).status is RunStatus.COMPLETED
    await drain(client)
    assert order == ["holder", "first", "plain"]
    with pytest.raises(ConfigError, match="invoke priority must be an integer from -1000000"):
        await client.invoke("report", {}, priority=1.5)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="send_event priority must be an integer"):
        await client.send_event("report.requested", {}, priority=10**9)
