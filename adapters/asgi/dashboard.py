"""The dashboard: HTML pages of jobs, their runs and one run, behind an API-key login.

`dashboard_routes` returns Starlette routes that `create_app` mounts when
``dashboard=True`` (DESIGN.md, Adapters). Pages (issue 5):

    /                   every job with its latest runs and counts by status
    /jobs/{job_id}      one job's runs: status filter, cursor paging
    /runs/{run_id}      one run: payload, output or error, task tree on a time axis, logs
    /connections        each connection and whether it is set; a form sets one
                        (dashboard_connections.py)
    /login, /logout     the API-key login that sets a signed session cookie (`sessions`)

Cancel and re-run are POST forms carrying the session's CSRF token. A page of a live run
re-renders its ``<main id="live">`` from a fetch of itself with the
``X-Triggerfish-Fragment`` header: a run page whenever its EventSource on
``/runs/{id}/events`` (the API's live events, behind the session cookie) reports a change,
other pages (or a run page whose EventSource fails) every second; without JavaScript a
``<noscript>`` refresh does it.
Every link is built with ``url_for``, so the dashboard works under any mount prefix.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from triggerfish.core.errors import ConfigError, JobNotFound, RunNotFound, RunNotRetryable
from triggerfish.core.models import Run
from triggerfish.core.schedule import next_fire_times
from triggerfish.core.triggers import CronTrigger, IntervalTrigger
from triggerfish.core.types import RunStatus

from ..edge import CURSOR_ERRORS, check_cursor
from .badges import RUN_BADGES
from .dashboard_connections import connection_routes
from .dashboard_fleet import fleet_routes
from .events import DEFAULT_EVENTS_INTERVAL_SECONDS, run_events
from .pages import Pages, is_fragment, path_of, run_duration, trigger_text
from .sessions import SESSION_COOKIE, LoginThrottle, SessionSigner
from .timeline import build_timeline

if TYPE_CHECKING:
    from triggerfish.core.client import Client
    from triggerfish.core.jobs import Job

_HERE = Path(__file__).parent
RUNS_PER_PAGE = 25
LATEST_RUNS_PER_JOB = 5
COUNTED_RUNS_PER_JOB = 500
"""The jobs page counts statuses over this many newest runs (the store has no count)."""

Handler = Callable[[Request, str], Awaitable[Response]]


def dashboard_routes(client: Client, *, api_key: str) -> list[BaseRoute]:
    """The dashboard's pages, forms and stylesheet as Starlette routes.

    Raises ConfigError without an API key: the login and the cookie signature need one.
    """
    dashboard = _Dashboard(client, SessionSigner(api_key))
    return [
        Route("/", dashboard.guard(dashboard.jobs), name="dashboard_jobs"),
        Route("/jobs/{job_id}", dashboard.guard(dashboard.job), name="dashboard_job"),
        Route("/runs/{run_id}", dashboard.guard(dashboard.run), name="dashboard_run"),
        Route(
            "/runs/{run_id}/events",
            dashboard.guard(dashboard.run_events),
            name="dashboard_run_events",
        ),
        Route(
            "/runs/{run_id}/cancel",
            dashboard.guard(dashboard.cancel, csrf=True),
            methods=["POST"],
            name="dashboard_cancel",
        ),
        Route(
            "/runs/{run_id}/rerun",
            dashboard.guard(dashboard.rerun, csrf=True),
            methods=["POST"],
            name="dashboard_rerun",
        ),
        Route(
            "/runs/{run_id}/retry",
            dashboard.guard(dashboard.retry, csrf=True),
            methods=["POST"],
            name="dashboard_retry",
        ),
        *connection_routes(dashboard),
        Route("/login", dashboard.login, methods=["GET", "POST"], name="dashboard_login"),
        Route(
            "/logout",
            dashboard.guard(dashboard.logout, csrf=True),
            methods=["POST"],
            name="dashboard_logout",
        ),
        *fleet_routes(dashboard),
        Mount("/static", app=StaticFiles(directory=_HERE / "static"), name="dashboard_static"),
    ]


@dataclass(frozen=True)
class _JobSummary:
    job: Job
    trigger: str
    counts: list[tuple[RunStatus, int]]
    counted: int
    is_capped: bool
    latest: list[Run]
    next_fire: datetime | None = None
    paused: bool = False


class _Dashboard:
    """The handlers; each guarded one receives the request and its session id."""

    def __init__(self, client: Client, signer: SessionSigner) -> None:
        self.client = client
        self.signer = signer
        self.pages = Pages(client_id=client.id)
        self.throttle = LoginThrottle(client.clock.time)

    # -- plumbing -------------------------------------------------------------------

    def guard(self, handler: Handler, *, csrf: bool = False) -> Callable[[Request], Any]:
        """Wraps a handler: no valid session -> the login form; a POST needs its CSRF token."""

        async def endpoint(request: Request) -> Response:
            session_id = self.signer.session_id(request.cookies.get(SESSION_COOKIE))
            if session_id is None:
                if is_fragment(request):
                    return Response(status_code=401)
                target = path_of(request, "dashboard_login")
                here = (
                    request.url.path
                    if request.method == "GET"
                    else path_of(request, "dashboard_jobs")
                )
                if request.method == "GET" and request.url.query:
                    here += "?" + request.url.query
                return RedirectResponse(f"{target}?{urlencode({'next': here})}", 303)
            if csrf:
                form = await request.form()
                token = form.get("csrf_token")
                if not self.signer.is_csrf_token(
                    session_id, token if isinstance(token, str) else None
                ):
                    return self.error(
                        request,
                        session_id,
                        403,
                        "Forbidden",
                        "This form's security token is missing or wrong. "
                        "Reload the page and try again.",
                    )
            return await handler(request, session_id)

        return endpoint

    def render(
        self, request: Request, session_id: str | None, content: str, **options: Any
    ) -> Response:
        """A page for this session (its CSRF token in the forms); see `Pages.render`."""
        token = None if session_id is None else self.signer.csrf_token(session_id)
        return self.pages.render(request, content, csrf_token=token, **options)

    def error(
        self, request: Request, session_id: str | None, status_code: int, title: str, message: str
    ) -> Response:
        """An error page (404 for an unknown job or run, 403 for a forged form, ...)."""
        return self.render(
            request,
            session_id,
            "_error.html",
            title=title,
            status_code=status_code,
            message=message,
        )

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.client.clock.time(), tz=UTC)

    # -- pages --------------------------------------------------------------------------

    async def jobs(self, request: Request, session_id: str) -> Response:
        """Every job with its latest runs and its runs counted by status."""
        summaries = await asyncio.gather(*(self._summary(j) for j in self.client.jobs.values()))
        live = any(not run.is_final for s in summaries for run in s.latest)
        return self.render(
            request, session_id, "_jobs.html", title="Jobs", live=live, summaries=summaries
        )

    async def _summary(self, job: Job) -> _JobSummary:
        page = await self.client.list_runs(job.id, limit=COUNTED_RUNS_PER_JOB)
        counter = Counter(run.status for run in page.runs)
        counts = [(status, counter[status]) for status in RunStatus if counter[status]]
        return _JobSummary(
            job=job,
            trigger=trigger_text(job.describe()["trigger"]),
            counts=counts,
            counted=len(page.runs),
            is_capped=page.next_cursor is not None,
            latest=page.runs[:LATEST_RUNS_PER_JOB],
            next_fire=self._next_fire(job),
            paused=await self.client.is_job_paused(job.id),
        )

    def _next_fire(self, job: Job) -> datetime | None:
        """When a scheduled, enabled job fires next (None for other jobs)."""
        if not job.enabled or not isinstance(job.trigger, CronTrigger | IntervalTrigger):
            return None
        times = next_fire_times(job.trigger, self.now(), 1)
        return times[0] if times else None

    async def job(self, request: Request, session_id: str) -> Response:
        """One job's runs, newest first, filtered by status and paged by cursor."""
        job = self.client.jobs.get(request.path_params["job_id"])
        if job is None:
            return self._not_found(request, session_id, "job", request.path_params["job_id"])
        status: RunStatus | None = None
        raw_status = request.query_params.get("status") or None
        try:
            cursor = check_cursor(request.query_params.get("cursor"))
        except ValueError as exc:
            return self.error(request, session_id, 400, "Bad request", f"cursor {exc}")
        try:
            if raw_status is not None:
                status = RunStatus(raw_status.upper())
        except ValueError as exc:
            return self.error(request, session_id, 400, "Bad request", str(exc))
        try:
            page = await self.client.list_runs(
                job.id, status=status, limit=RUNS_PER_PAGE, cursor=cursor
            )
        except ConfigError as exc:
            return self.error(request, session_id, 400, "Bad request", str(exc))
        except CURSOR_ERRORS as exc:
            message = "This page link is not valid." if cursor else str(exc)
            return self.error(request, session_id, 400, "Bad request", message)
        return self.render(
            request,
            session_id,
            "_job.html",
            title=job.name or job.id,
            live=any(not run.is_final for run in page.runs),
            job=job,
            trigger=trigger_text(job.describe()["trigger"]),
            next_fire=self._next_fire(job),
            paused=await self.client.is_job_paused(job.id),
            schedules=[s for s in await self.client.list_schedules(job.id) if not s.declared],
            done=_done_note(request.query_params.get("done")),
            runs=page.runs,
            status=status,
            statuses=list(RUN_BADGES),
            cursor=cursor,
            next_cursor=page.next_cursor,
            now=self.now(),
            run_duration=run_duration,
        )

    async def run(self, request: Request, session_id: str) -> Response:
        """One run: facts, payload, output or error, the task timeline and the logs."""
        run_id = request.path_params["run_id"]
        try:
            run = await self.client.get_run(run_id)
        except RunNotFound:
            return self._not_found(request, session_id, "run", run_id)
        now = self.now()
        job = self.client.jobs.get(run.job_id)
        return self.render(
            request,
            session_id,
            "_run.html",
            title=f"Run {run.id}",
            live=not run.is_final,
            run=run,
            job=job,
            can_rerun=run.is_final and job is not None and job.enabled,
            can_retry=run.status.value in ("FAILED", "TIMED_OUT") and job is not None,
            timeline=build_timeline(run, now),
            duration=run_duration(run, now),
            events_url=path_of(request, "dashboard_run_events", run_id=run.id),
        )

    async def run_events(self, request: Request, session_id: str) -> Response:
        """The run's live events (as ``/api/runs/{id}/events``) for this session's page."""
        run_id = request.path_params["run_id"]
        interval: float = getattr(
            request.app.state, "triggerfish_events_interval", DEFAULT_EVENTS_INTERVAL_SECONDS
        )
        try:
            return await run_events(request, self.client, run_id, interval_seconds=interval)
        except RunNotFound:
            return Response(status_code=404)

    # -- actions ------------------------------------------------------------------------

    async def cancel(self, request: Request, session_id: str) -> Response:
        """Cancels a live run, then shows it again."""
        run_id = request.path_params["run_id"]
        try:
            await self.client.cancel_run(run_id)
        except RunNotFound:
            return self._not_found(request, session_id, "run", run_id)
        return RedirectResponse(path_of(request, "dashboard_run", run_id=run_id), 303)

    async def rerun(self, request: Request, session_id: str) -> Response:
        """Starts a new run of a finished run's job with the same payload, and shows it."""
        run_id = request.path_params["run_id"]
        try:
            run = await self.client.get_run(run_id, tasks=False)
        except RunNotFound:
            return self._not_found(request, session_id, "run", run_id)
        if not run.is_final:
            return self.error(
                request,
                session_id,
                409,
                "Run still live",
                f"Run {run_id} is {run.status.value}; only a finished run can be re-run.",
            )
        try:
            new = await self.client.invoke(run.job_id, run.payload)
        except JobNotFound:
            return self._not_found(request, session_id, "job", run.job_id)
        except ConfigError as exc:
            return self.error(request, session_id, 409, "Cannot re-run", str(exc))
        return RedirectResponse(path_of(request, "dashboard_run", run_id=new.id), 303)

    async def retry(self, request: Request, session_id: str) -> Response:
        """Continues a FAILED or TIMED_OUT run from its failure, then shows it again."""
        run_id = request.path_params["run_id"]
        try:
            await self.client.retry_run(run_id)
        except RunNotFound:
            return self._not_found(request, session_id, "run", run_id)
        except RunNotRetryable as exc:
            return self.error(request, session_id, 409, "Cannot retry", str(exc))
        return RedirectResponse(path_of(request, "dashboard_run", run_id=run_id), 303)

    async def login(self, request: Request) -> Response:
        """The login form (GET) and its check (POST), which sets the session cookie."""
        error = None
        status_code = 200
        headers: dict[str, str] = {}
        if request.method == "POST":
            form = await request.form()
            key = form.get("api_key")
            next_path = _safe_next(request, form.get("next"))
            address = request.client.host if request.client else "unknown"
            wait = self.throttle.retry_after(address)
            if wait:
                error = f"Too many wrong API keys from your address; try again in {wait} s."
                status_code, headers = 429, {"Retry-After": str(wait)}
            elif self.signer.is_api_key(key if isinstance(key, str) else None):
                self.throttle.succeeded(address)
                response = RedirectResponse(next_path, 303)
                response.set_cookie(
                    SESSION_COOKIE,
                    self.signer.new_session(),
                    max_age=self.signer.max_age_seconds,
                    path=path_of(request, "dashboard_jobs"),
                    secure=request.url.scheme == "https",
                    httponly=True,
                    samesite="lax",
                )
                return response
            else:
                self.throttle.failed(address)
                error, status_code = "That API key is not right.", 401
        else:
            next_path = _safe_next(request, request.query_params.get("next"))
            if self.signer.session_id(request.cookies.get(SESSION_COOKIE)) is not None:
                return RedirectResponse(next_path, 303)
        page = self.render(
            request,
            None,
            "_login.html",
            title="Log in",
            status_code=status_code,
            error=error,
            next_path=next_path,
        )
        page.headers.update(headers)
        return page

    async def logout(self, request: Request, session_id: str) -> Response:
        """Ends the session (its cookie is refused from now on) and shows the login form."""
        self.signer.revoke(session_id)
        response = RedirectResponse(path_of(request, "dashboard_login"), 303)
        response.delete_cookie(
            SESSION_COOKIE, path=path_of(request, "dashboard_jobs"), httponly=True, samesite="lax"
        )
        return response

    def _not_found(self, request: Request, session_id: str, kind: str, ident: str) -> Response:
        return self.error(request, session_id, 404, "Not found", f"There is no {kind} {ident!r}.")


def _safe_next(request: Request, given: Any) -> str:
    """Where to go after logging in: a path inside the dashboard, never another site."""
    home = path_of(request, "dashboard_jobs")
    if (
        isinstance(given, str)
        and given.startswith(home)
        and not given.startswith("//")
        and "\\" not in given
        and given.isprintable()
    ):
        return given
    return home


def _done_note(given: str | None) -> str | None:
    """The note after a selection's action (``?done=3 canceled``): "3 run(s) canceled."."""
    if given is None:
        return None
    count, _, verb = given.partition(" ")
    if not count.isdigit() or len(count) > 4 or verb not in ("canceled", "retried"):
        return None
    return f"{count} run(s) {verb}."
