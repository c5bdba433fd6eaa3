"""The dashboard's fleet actions (issue 19): pause and resume a job from its page.

POST forms carrying the session's CSRF token (`_Dashboard.guard`), each redirecting back
to the job's page, as the run actions of dashboard.py do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from triggerfish.core.errors import JobNotFound

from .pages import path_of

if TYPE_CHECKING:
    from .dashboard import _Dashboard


def fleet_routes(dashboard: _Dashboard) -> list[BaseRoute]:
    """The job pause and resume forms."""
    actions = FleetActions(dashboard)
    return [
        Route("/jobs/{job_id}/pause", dashboard.guard(actions.pause, csrf=True),
              methods=["POST"], name="dashboard_pause_job"),
        Route("/jobs/{job_id}/resume", dashboard.guard(actions.resume, csrf=True),
              methods=["POST"], name="dashboard_resume_job"),
    ]  # fmt: skip


class FleetActions:
    """The handlers; each receives the request and its session id."""

    def __init__(self, dashboard: _Dashboard) -> None:
        self.dashboard = dashboard
        self.client = dashboard.client

    async def pause(self, request: Request, session_id: str) -> Response:
        """Pauses the job, then shows its page again."""
        return await self._set_paused(request, session_id, paused=True)

    async def resume(self, request: Request, session_id: str) -> Response:
        """Resumes the job (its queued runs start), then shows its page again."""
        return await self._set_paused(request, session_id, paused=False)

    async def _set_paused(self, request: Request, session_id: str, *, paused: bool) -> Response:
        job_id = request.path_params["job_id"]
        try:
            if paused:
                await self.client.pause_job(job_id)
            else:
                await self.client.resume_job(job_id)
        except JobNotFound:
            return self.dashboard.error(request, session_id, 404, "Not found",
                                        f"There is no job {job_id!r}.")  # fmt: skip
        return RedirectResponse(path_of(request, "dashboard_job", job_id=job_id), 303)
