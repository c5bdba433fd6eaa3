"""`SQSDispatcher`: "run R again at T" as an SQS message, delayed up to 15 minutes.

A wait longer than SQS's 900-second limit hops: the worker gets the message early, finds
the run still WAITING, and sends it on for the time that is left. Duplicate and
out-of-order messages are harmless: the run's lease lets one invocation through.
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import TYPE_CHECKING, Any

from ..clock import Clock, SystemClock
from ..usage import count

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient

    from ..fetch import FetchMessage

MAX_DELAY_SECONDS = 900


def resume_message(run_id: str, at: float) -> str:
    """The body of a resume message."""
    return json.dumps({"type": "resume", "run_id": run_id, "at": at}, separators=(",", ":"))


class SQSDispatcher:
    """Sends one SQS message per requested resume; boto3 is imported on construction."""

    counts_messages = True
    """Each dispatch is one SQS request, counted into the run's usage (core/usage.py)."""

    def __init__(
        self,
        queue_url: str,
        *,
        client: SQSClient | None = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not queue_url:
            raise ValueError("SQSDispatcher queue_url must be a non-empty string")
        self.queue_url = queue_url
        self.clock: Clock = clock or SystemClock()
        if client is None:
            try:
                import boto3
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise ImportError("SQSDispatcher needs boto3: pip install 'triggerfish[aws]'") from exc
            client = boto3.client("sqs", endpoint_url=endpoint_url, region_name=region)
        self._sqs: Any = client

    def __repr__(self) -> str:
        return f"SQSDispatcher({self.queue_url!r})"

    def delay_for(self, at: float, *, now: float | None = None) -> int:
        """Whole seconds to delay a message for `at`, capped at SQS's 900."""
        remaining = at - (self.clock.time() if now is None else now)
        return max(0, min(MAX_DELAY_SECONDS, math.ceil(remaining)))

    def send(self, body: str, *, delay_seconds: int = 0) -> None:
        """Sends one message (blocking)."""
        count("queue_messages")
        self._sqs.send_message(QueueUrl=self.queue_url, MessageBody=body, DelaySeconds=delay_seconds)

    async def send_fetch(self, message: FetchMessage) -> None:
        """Hands a background fetch to the SQS worker (a message of type "fetch")."""
        await asyncio.to_thread(self.send, message.model_dump_json())

    async def dispatch(self, run_id: str, at: float) -> None:
        """Sends a resume message delayed until `at`, or as close as SQS allows."""
        await asyncio.to_thread(self.send, resume_message(run_id, at), delay_seconds=self.delay_for(at))
