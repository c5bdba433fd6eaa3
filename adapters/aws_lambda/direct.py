"""Direct invocations (`boto3 lambda.invoke` with a JSON action), validated by pydantic."""

from __future__ import annotations

import json
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from triggerfish.core import Client, JobNotFound, RunNotFound, TriggerfishError
from triggerfish.core.ids import ID_PATTERN

from ..edge import TooDeep, check_depth

_DEFERRED = ConfigDict(defer_build=True)
"""Built on the first direct invocation: SQS and HTTP events never need them."""


class SendEventAction(BaseModel):
    """``{"action": "send_event", "name": ..., "payload": ..., "id": ...}``"""

    model_config = _DEFERRED

    action: Literal["send_event"]
    name: str = Field(min_length=1)
    payload: Any = None
    id: str | None = Field(default=None, pattern=ID_PATTERN)


class InvokeAction(BaseModel):
    """``{"action": "invoke", "job_id": ..., "payload": ...}``"""

    model_config = _DEFERRED

    action: Literal["invoke"]
    job_id: str = Field(min_length=1)
    payload: Any = None


class ExecuteAction(BaseModel):
    """``{"action": "execute", "run_id": ...}``: one invocation with this Lambda's deadline."""

    model_config = _DEFERRED

    action: Literal["execute"]
    run_id: str = Field(min_length=1)


class GetRunAction(BaseModel):
    """``{"action": "get_run", "run_id": ..., "tasks": true}``"""

    model_config = _DEFERRED

    action: Literal["get_run"]
    run_id: str = Field(min_length=1)
    tasks: bool = True


Action = Annotated[
    SendEventAction | InvokeAction | ExecuteAction | GetRunAction, Field(discriminator="action")
]


@cache
def _actions() -> TypeAdapter[Action]:
    """The validator of every action, built on the first direct invocation."""
    return TypeAdapter(Action)


def error(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """The error shape of the HTTP API, for direct callers too."""
    return {"error": {"code": code, "message": message, **extra}}


async def handle_direct(client: Client, event: dict[str, Any], deadline: float | None) -> Any:
    """Runs one action and answers its result as JSON data, or an error object."""
    try:
        check_depth(event)
        action = _actions().validate_python(event)
    except TooDeep as exc:
        return error("invalid_request", f"invalid direct invocation: {exc}")
    except ValidationError as exc:
        issues = json.loads(exc.json(include_url=False))
        fields = ", ".join(".".join(str(p) for p in issue["loc"]) for issue in issues)
        return error("invalid_request", f"invalid direct invocation ({fields})", issues=issues)
    try:
        if isinstance(action, SendEventAction):
            event_model = await client.send_event(action.name, action.payload, id=action.id)
            return event_model.model_dump(mode="json")
        if isinstance(action, InvokeAction):
            return (await client.invoke(action.job_id, action.payload)).model_dump(mode="json")
        if isinstance(action, ExecuteAction):
            outcome = await client.execute(action.run_id, deadline=deadline)
            return outcome.model_dump(mode="json")
        run = await client.get_run(action.run_id, tasks=action.tasks)
        return run.model_dump(mode="json")
    except (JobNotFound, RunNotFound) as exc:
        return error("not_found", str(exc))
    except (TriggerfishError, ValueError) as exc:
        return error("invalid_request", str(exc))
