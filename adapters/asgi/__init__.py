"""The ASGI adapter: `create_app(client)` serves the JSON API, webhooks and dashboard.

Mounted under a prefix in a parent Starlette or FastAPI app, forward its lifespan so
the local dispatcher starts at startup and stops at shutdown (docs/api.md, Mounting):

    jobs = create_app(client)
    app = Starlette(routes=[Mount("/jobs", app=jobs)], lifespan=jobs.router.lifespan_context)

`client_dependency(client)` hands the client to FastAPI routes through ``Depends``
(docs/mounting.md).
"""

from __future__ import annotations

from .app import create_app
from .dependency import client_dependency

__all__ = ["client_dependency", "create_app"]
