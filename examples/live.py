"""A page that shows a run's progress live with EventSource (issue 11), beside the API.

    TRIGGERFISH_API_KEY=dev .venv/bin/uvicorn examples.live:app
    curl -X POST -H "Authorization: Bearer dev" -d '{"payload": {"report": "weekly"}}' \\
        http://127.0.0.1:8000/api/jobs/build-report/invoke        # prints the run's "id"
    open http://127.0.0.1:8000/live?run=<id>

A browser's EventSource cannot send the API key, so this app serves the run's events on a
route of its own, ``/live/{run_id}/events``: put your users' own authentication there (in
this demo the run id alone opens it). The JSON API stays behind the key.
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from triggerfish.adapters.asgi import create_app
from triggerfish.adapters.asgi.events import run_events
from triggerfish.core import RunNotFound

from examples.jobs import client

api = create_app(client, dashboard=False)


async def page(request: Request) -> Response:
    return FileResponse(Path(__file__).with_name("live.html"))


async def progress(request: Request) -> Response:
    # Check your own session here before answering: who may watch this run?
    try:
        return await run_events(
            request, client, request.path_params["run_id"], interval_seconds=0.5
        )
    except RunNotFound:
        return JSONResponse({"error": {"code": "run_not_found"}}, status_code=404)


app = Starlette(
    routes=[
        Route("/live", page),
        Route("/live/{run_id}/events", progress),
        Mount("/", app=api),
    ],
    lifespan=api.router.lifespan_context,
)
