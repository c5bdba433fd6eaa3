"""SQS records: resume messages, answered with `batchItemFailures` (partial batch responses).

A message for a time still in the future is a hop of a long wait: it is sent on for the
time that is left, without touching the store.
"""

from __future__ import annotations

import json
import logging
import math
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from triggerfish.core import Client, RunNotFound
from triggerfish.core.acquire import lease_check

if TYPE_CHECKING:
    from pydantic import TypeAdapter
    from triggerfish.core.fetch import FetchMessage

logger = logging.getLogger(__name__)

EARLY_TOLERANCE_SECONDS = 1.0
"""A message this close to its time is treated as due (SQS delays are whole seconds)."""


class ResumeMessage(BaseModel):
    """The body `SQSDispatcher` sends: run `run_id` again at `at` (epoch seconds)."""

    model_config = ConfigDict(defer_build=True)  # a well-formed body never needs the validator

    type: Literal["resume"]
    run_id: str
    at: float
    check: bool = False
    """A dead-man's check of the run's lease (core/acquire.py): read before any write."""


async def handle_records(
    client: Client, records: list[dict[str, Any]], deadline: float | None
) -> dict[str, list[dict[str, str]]]:
    """Processes each record; a record that fails is reported, not the whole batch."""
    failures: list[dict[str, str]] = []
    for record in records:
        message_id = record.get("messageId")
        try:
            await handle_record(client, record, deadline)
        except Exception:
            if not isinstance(message_id, str) or not message_id:
                # An itemIdentifier that is empty or not in the batch fails the whole batch
                # (every message retried); a record without an id cannot be retried alone.
                logger.exception(
                    "SQS record without a messageId failed; not reported in batchItemFailures"
                )
                continue
            logger.exception("SQS message %s failed", message_id, extra={"message_id": message_id})
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}


@cache
def _messages() -> TypeAdapter[ResumeMessage | FetchMessage]:
    """Every message type, built on the first message that is not a resume (cold start)."""
    from pydantic import TypeAdapter  # pydantic.type_adapter: off the resume path
    from triggerfish.core.fetch import FetchMessage  # the fetch machinery, likewise

    return TypeAdapter(Annotated[ResumeMessage | FetchMessage, Field(discriminator="type")])


def parse_message(body: str) -> ResumeMessage | FetchMessage:
    """The message in an SQS body: a resume (the common one, checked alone) or a fetch.

    A body exactly as `SQSDispatcher` writes it is read without pydantic (its validator
    costs a cold start ~1 ms to build); anything else goes through the models.
    """
    resume = _plain_resume(body)
    if resume is not None:
        return resume
    try:
        return ResumeMessage.model_validate_json(body)
    except ValidationError:
        return _messages().validate_json(body)  # a fetch, or the error naming every type


def _plain_resume(body: str) -> ResumeMessage | None:
    """The resume message of `body` when it is one beyond doubt, else None."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("type") != "resume":
        return None
    run_id, at = data.get("run_id"), data.get("at")
    if type(run_id) is not str or not run_id.isascii():
        return None
    if isinstance(at, bool) or not isinstance(at, int | float):
        return None
    try:
        moment = float(at)
    except OverflowError:
        return None
    if not math.isfinite(moment):
        return None
    check = data.get("check", False)
    if type(check) is not bool:
        return None
    return ResumeMessage.model_construct(type="resume", run_id=run_id, at=moment, check=check)


async def handle_record(client: Client, record: dict[str, Any], deadline: float | None) -> None:
    """Resumes the run a message names, sends an early message on (a hop), or fetches."""
    try:
        message = parse_message(record.get("body") or "")
    except ValidationError as exc:
        raise ValueError(f"SQS message is not a triggerfish message: {exc}") from exc
    if not isinstance(message, ResumeMessage):
        from triggerfish.core.fetch import perform_fetch

        await perform_fetch(client, message)
        return
    if message.at > client.clock.time() + EARLY_TOLERANCE_SECONDS:
        if client.dispatcher is None:
            raise ValueError("an early resume message needs a dispatcher to hop")
        hop = getattr(client.dispatcher, "dispatch_check", None) if message.check else None
        await (hop or client.dispatcher.dispatch)(message.run_id, message.at)
        return
    token = lease_check.set(message.check)
    try:
        outcome = await client.execute(message.run_id, deadline=deadline)
    except RunNotFound:
        logger.warning("resume message for unknown run %s dropped", message.run_id)
        return
    finally:
        lease_check.reset(token)
    logger.debug("run %s: %s", message.run_id, outcome.status.value)
