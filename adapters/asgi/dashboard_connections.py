"""The dashboard's connections page: each connection's name and whether it is set, and a
form that sets one (`client.set_connection`). Credentials go in, never come out: the page
shows no secret, and the form's field is a password input.

    GET  /connections        the list, with a form per connection and one for a new name
    POST /connections/set    name, credentials (a token, or JSON), csrf_token
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from triggerfish.core.errors import ConfigError
from triggerfish.core.times import utc

if TYPE_CHECKING:
    from .dashboard import _Dashboard


def connection_routes(dashboard: _Dashboard) -> list[BaseRoute]:
    """The page and its form, guarded by the dashboard's session (the form by CSRF too)."""
    page = _ConnectionsPage(dashboard)
    return [
        Route("/connections", dashboard.guard(page.show), name="dashboard_connections"),
        Route(
            "/connections/set",
            dashboard.guard(page.set, csrf=True),
            methods=["POST"],
            name="dashboard_set_connection",
        ),
    ]


class _ConnectionsPage:
    def __init__(self, dashboard: _Dashboard) -> None:
        self.dashboard = dashboard

    async def show(
        self, request: Request, session_id: str, *, status_code: int = 200, **notes: Any
    ) -> Response:
        """Every connection the jobs declare or the store holds, set or not."""
        connections = [
            {**c, "updated_at": None if c["updated_at"] is None else utc(c["updated_at"])}
            for c in await self.dashboard.client.list_connections()
        ]
        return self.dashboard.render(
            request, session_id, "_connections.html", title="Connections",
            status_code=status_code, connections=connections,
            message=notes.get("message"), error=notes.get("error"),
        )  # fmt: skip

    async def set(self, request: Request, session_id: str) -> Response:
        """Stores the posted credentials; the page again, saying how many runs it woke."""
        form = await request.form()
        name, text = form.get("name"), form.get("credentials")
        if not isinstance(name, str) or not isinstance(text, str) or not text.strip():
            return await self.show(request, session_id, status_code=400,
                                   error="Give a connection name and its credentials.")  # fmt: skip
        try:
            woken = await self.dashboard.client.set_connection(name, _credentials(text))
        except ConfigError as exc:
            return await self.show(request, session_id, status_code=400, error=str(exc))
        return await self.show(
            request, session_id,
            message=f"Connection {name} set; {len(woken)} waiting run(s) woken.",
        )  # fmt: skip


def _credentials(text: str) -> Any:
    """JSON when the field parses as JSON, else the text itself (a token)."""
    try:
        return json.loads(text)
    except ValueError:
        return text.strip()
