"""`SQSDispatcher`: "run R again at T" as an SQS message, delayed up to 15 minutes.

A wait longer than SQS's 900-second limit hops: the worker gets the message early, finds
the run still WAITING, and sends it on for the time that is left. Duplicate and
out-of-order messages are harmless: the run's lease lets one invocation through.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
from typing import TYPE_CHECKING, Any

from ..aws import aws_client, require_botocore
from ..clock import Clock, SystemClock
from ..usage import count

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient

    from ..fetch import FetchMessage

MAX_DELAY_SECONDS = 900


def resume_message(run_id: str, at: float, *, check: bool = False) -> str:
    """The body of a resume message; `check`: a dead-man's check (core/acquire.py), which
    reads the run before writing anything."""
    body: dict[str, object] = {"type": "resume", "run_id": run_id, "at": at}
    if check:
        body["check"] = True
    return json.dumps(body, separators=(",", ":"))


class SQSDispatcher:
    """Sends one SQS message per requested resume.

    botocore is checked on construction (a missing install fails early), but the client is
    made on the first send: a worker whose run ends without a dispatch never pays for it.
    """

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
            require_botocore("SQSDispatcher")  # fail at construction, not at the first send
        self._client: Any = client
        self._endpoint_url = endpoint_url
        self._region = region
        self._client_lock = threading.Lock()

    @property
    def _sqs(self) -> Any:
        """The SQS client, made once on first use (sends run in worker threads)."""
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = aws_client(
                        "sqs", endpoint_url=self._endpoint_url, region=self._region
                    )
        return self._client

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

    async def dispatch_check(self, run_id: str, at: float) -> None:
        """The dead-man's switch: a check message delayed until the lease expiry `at`."""
        body = resume_message(run_id, at, check=True)
        await asyncio.to_thread(self.send, body, delay_seconds=self.delay_for(at))
