"""Rendering the dashboard's pages: the Jinja2 environment, its filters and the headers.

Templates live in ``templates/`` next to this module (package data). Autoescaping is on
for every template, so text from runs (payloads, errors, log lines) cannot become markup.
A request with the ``X-Triggerfish-Fragment`` header gets only the page's
``<main id="live">``, which the live poll swaps in (see `dashboard`).
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates
from triggerfish.core.models import Run

from .badges import badge
from .timeline import format_duration

_TEMPLATES = Path(__file__).parent / "templates"
FRAGMENT_HEADER = "X-Triggerfish-Fragment"


class Pages:
    """Renders a content template inside the page layout, or alone as the live fragment."""

    def __init__(self, *, client_id: str) -> None:
        self.client_id = client_id
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(_TEMPLATES),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.globals["path_for"] = _path_for
        env.globals["badge"] = badge
        env.filters["duration"] = format_duration
        env.filters["when"] = when
        env.filters["pretty"] = _pretty
        self.templates = Jinja2Templates(env=env)

    def render(
        self,
        request: Request,
        content: str,
        *,
        title: str,
        csrf_token: str | None,
        live: bool = False,
        status_code: int = 200,
        **context: Any,
    ) -> Response:
        """`content` (a template name) as a page, or as the fragment the live poll asked for.

        `csrf_token` is None on pages shown before login; `live` turns on the refresh.
        """
        nonce = secrets.token_urlsafe(12)
        context.update(
            content=content,
            title=title,
            live=live,
            csp_nonce=nonce,
            client_id=self.client_id,
            csrf_token=csrf_token,
        )
        response = self.templates.TemplateResponse(
            request,
            "_live.html" if is_fragment(request) else "base.html",
            context,
            status_code=status_code,
        )
        response.headers.update(_security_headers(nonce))
        return response


def is_fragment(request: Request) -> bool:
    """True for the live poll's request, which wants only ``<main id="live">``."""
    return bool(request.headers.get(FRAGMENT_HEADER))


def path_of(request: Request, name: str, **params: Any) -> str:
    """The path (with the mount prefix) of a named route, without scheme and host."""
    return request.url_for(name, **params).path


@jinja2.pass_context
def _path_for(context: Any, name: str, **params: Any) -> str:
    return path_of(context["request"], name, **params)


def _security_headers(nonce: str) -> dict[str, str]:
    # Only this page's own inline script runs; no frame may host the cancel buttons.
    policy = (
        "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        f"script-src 'nonce-{nonce}'; connect-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    return {
        "Content-Security-Policy": policy,
        "Cache-Control": "no-store",
        "Vary": FRAGMENT_HEADER,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }


def run_duration(run: Run, now: datetime) -> float | None:
    """Seconds from the run's start to its end, or to `now` while it is live."""
    if run.started_at is None:
        return None
    end = run.completed_at or (None if run.is_final else now)
    return None if end is None else (end - run.started_at).total_seconds()


def when(value: datetime | None) -> str:
    """A time as ``2025-01-31 12:00:05`` (UTC), a dash for none."""
    if value is None:
        return "\u2014"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def trigger_text(trigger: dict[str, Any]) -> str:
    """A trigger's `describe()` in a few words: ``event user.created``, ``every 5 min``."""
    if "event" in trigger:
        return f"event {trigger['event']}"
    if "cron" in trigger:
        zone = f" ({trigger['timezone']})" if trigger.get("timezone") else ""
        return f"cron {trigger['cron']}{zone}"
    if "seconds" in trigger:
        return f"every {_interval(float(trigger['seconds']))}"
    if "webhook" in trigger:
        return f"webhook {trigger['webhook']}"
    return str(trigger.get("kind") or "invoke")


def _interval(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g} {unit}"
    return format_duration(seconds)
