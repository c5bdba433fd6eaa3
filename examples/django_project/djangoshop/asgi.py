"""The ASGI entry point: a Starlette router sends ``/jobs`` to triggerfish, the rest to Django.

    cd examples/django_project
    TRIGGERFISH_API_KEY=change-me uvicorn djangoshop.asgi:application

Django's ASGI handler serves HTTP only (no lifespan), so the router's lifespan is
triggerfish's: the local dispatcher starts and stops with the server.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application
from starlette.applications import Starlette
from starlette.routing import Mount
from triggerfish.adapters.asgi import create_app

from .jobs import client

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djangoshop.settings")
django_app = get_asgi_application()
jobs = create_app(client)

application = Starlette(
    routes=[Mount("/jobs", app=jobs), Mount("/", app=django_app)],
    lifespan=jobs.router.lifespan_context,
)
