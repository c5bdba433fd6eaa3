"""Integrations: clients a job uses through `io.integrations[name]`, whose calls are tasks.

    base.py   Integration (a base class), integration_task (marks key-first task methods),
              IntegrationHandle (what `io.integrations[name]` is)
    http.py   HttpIntegration: an httpx-based HTTP API client (httpx imported when used)
"""

from __future__ import annotations

from .base import Integration, IntegrationHandle, integration_task
from .http import HttpError, HttpIntegration

__all__ = ["HttpError", "HttpIntegration", "Integration", "IntegrationHandle", "integration_task"]
