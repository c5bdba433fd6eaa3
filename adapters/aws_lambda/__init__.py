"""The AWS Lambda adapter: `create_handler(client)` answers every event the service gets.

    handler = create_handler(client)   # HTTP (via Mangum), SQS, EventBridge, direct JSON

Only the HTTP path imports Starlette and Mangum; SQS and schedule events never do.
"""

from __future__ import annotations

from .handler import create_handler

__all__ = ["create_handler"]
