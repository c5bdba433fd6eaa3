"""`io.send_event`: an event sent once from a run (as a task), so replays do not resend it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import events
from .tasks import run_task

if TYPE_CHECKING:
    from ..port import Port


async def send_event(
    inv: Port, key: str, name: str, payload: Any, *, id: str | None
) -> dict[str, Any]:
    """Sends the event (id `<run id>:<key>` unless given) inside a task named after it."""
    event_id = id or f"{inv.run.id}:{key}"

    async def send() -> dict[str, Any]:
        event = await events.send_event(inv.runtime, name, payload, id=event_id)
        return event.model_dump(mode="json")

    result: dict[str, Any] = await run_task(
        inv, key, send, name=f"send {name}", retry=None, icon="event", properties=None
    )
    return result
