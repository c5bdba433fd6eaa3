"""`io.create_status`: a status the run shows its watchers, each change recorded once.

    io.create_status(key, label=..)   a "status" task: its output is the first value
    await status.update(key, ...)     a "status_update" task under the caller's parent: its
                                      output is the whole value after the change (fields
                                      left None keep theirs) plus the status task's id

`Run.statuses` (core/views.py) folds these records into `{key, label, state, data,
history}` in time order. Replays return the recorded values, so a status never goes
back to an older value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..serialize import dump_json
from .records import recorded_value

if TYPE_CHECKING:
    from ..port import Port

STATUS_STATES = ("loading", "success", "failure")
"""The states a status may have (Trigger.dev v2's); None means no state."""
MAX_LABEL_CHARS = 200


def validate(label: Any, state: Any, data: Any, *, label_required: bool) -> None:
    """A clear ValueError naming the field, before anything is written."""
    if label is None and label_required:
        raise ValueError("io.create_status label is required")
    if label is not None and (not isinstance(label, str) or not label.strip()):
        raise ValueError(f"status label must be a non-empty string, got {label!r}")
    if isinstance(label, str) and len(label) > MAX_LABEL_CHARS:
        raise ValueError(f"status label is {len(label)} characters; the limit is "
                         f"{MAX_LABEL_CHARS}")  # fmt: skip
    if state is not None and state not in STATUS_STATES:
        raise ValueError(f"status state must be one of {', '.join(STATUS_STATES)} or None, "
                         f"got {state!r}")  # fmt: skip
    if data is not None:
        if not isinstance(data, dict):
            raise ValueError(f"status data must be a JSON object (a dict), got "
                             f"{type(data).__name__}")  # fmt: skip
        dump_json(data, key="status data")


class RunStatusHandle:
    """What `io.create_status` returns: `await status.update(key, label=, state=, data=)`."""

    def __init__(self, inv: Port, key: str, status_id: str, value: dict[str, Any]) -> None:
        self._invocation = inv
        self.key = key
        self.id = status_id
        self.label: str = value["label"]
        self.state: str | None = value.get("state")
        self.data: dict[str, Any] | None = value.get("data")

    async def update(
        self,
        key: str,
        *,
        label: str | None = None,
        state: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Changes the status (fields left None keep their value), as a task recorded once."""
        inv = self._invocation
        validate(label, state, data, label_required=False)
        async with inv.io_call():
            value = {
                "status": self.id,
                "label": label if label is not None else self.label,
                "state": state if state is not None else self.state,
                "data": data if data is not None else self.data,
            }
            recorded = await recorded_value(inv, inv.claim(key), lambda: value,
                                            kind="status_update", name=f"status {self.key}")  # fmt: skip
        self.label, self.state, self.data = recorded["label"], recorded["state"], recorded["data"]


async def create_status(
    inv: Port, key: str, *, label: str, state: str | None, data: dict[str, Any] | None
) -> RunStatusHandle:
    """Records the status's first value once and returns its handle."""
    validate(label, state, data, label_required=True)
    claim = inv.claim(key)
    value = {"label": label, "state": state, "data": data}
    recorded = await recorded_value(inv, claim, lambda: value, kind="status",
                                    name=f"status {key}")  # fmt: skip
    return RunStatusHandle(inv, key, claim.task_id, recorded)
