"""The dashboard's fleet actions (issue 19): pause and resume a job from its page, and
cancel or retry the runs selected on it (checkboxes, at most MAX_SELECTED_RUNS).

POST forms carrying the session's CSRF token (`_Dashboard.guard`), each redirecting back
to the job's page, as the run actions of dashboard.py do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from triggerfish.core.errors import JobNotFound, RunNotFound, RunNotRetryable
from triggerfish.core.types import RunStatus

from .pages import path_of

if TYPE_CHECKING:
    from .dashboard import _Dashboard

MAX_SELECTED_RUNS = 100
"""The most runs one selection acts on (a page shows 25)."""


def fleet_routes(dashboard: _Dashboard) -> list[BaseRoute]:
    """The job pause and resume forms."""
    actions = FleetActions(dashboard)
    return [
        Route("/jobs/{job_id}/pause", dashboard.guard(actions.pause, csrf=True),
              methods=["POST"], name="dashboard_pause_job"),
        Route("/jobs/{job_id}/resume", dashboard.guard(actions.resume, csrf=True),
              methods=["POST"], name="dashboard_resume_job"),
        Route("/jobs/{job_id}/runs", dashboard.guard(actions.bulk, csrf=True),
              methods=["POST"], name="dashboard_bulk_runs"),
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

    async def bulk(self, request: Request, session_id: str) -> Response:
        """Cancels or retries the selected runs of the job, then shows its page with a note
        of how many it acted on (runs of other jobs, or finished ones, are left alone)."""
        job_id = request.path_params["job_id"]
        if job_id not in self.client.jobs:
            return self.dashboard.error(request, session_id, 404, "Not found",
                                        f"There is no job {job_id!r}.")  # fmt: skip
        form = await request.form()
        action = form.get("action")
        run_ids = [v for v in form.getlist("run_id") if isinstance(v, str)]
        if action not in ("cancel", "retry") or len(run_ids) > MAX_SELECTED_RUNS:
            return self.dashboard.error(
                request, session_id, 400, "Bad request",
                f"Choose cancel or retry for at most {MAX_SELECTED_RUNS} selected runs.",
            )  # fmt: skip
        acted = 0
        for run_id in dict.fromkeys(run_ids):
            acted += await self._act(action, job_id, run_id)
        done = "canceled" if action == "cancel" else "retried"
        target = path_of(request, "dashboard_job", job_id=job_id)
        return RedirectResponse(f"{target}?{urlencode({'done': f'{acted} {done}'})}", 303)

    async def _act(self, action: str, job_id: str, run_id: str) -> int:
        """1 when the run (of this job) was canceled or retried, else 0."""
        try:
            run = await self.client.get_run(run_id, tasks=False)
            if run.job_id != job_id:
                return 0
            if action == "cancel":
                if run.is_final:
                    return 0
                return int((await self.client.cancel_run(run_id)).status is RunStatus.CANCELED)
            await self.client.retry_run(run_id)
        except (RunNotFound, RunNotRetryable):
            return 0
        return 1
