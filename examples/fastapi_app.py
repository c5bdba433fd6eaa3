"""A FastAPI app that mounts triggerfish's API and dashboard under ``/jobs`` and sends
events from its own routes (docs/mounting.md).

    TRIGGERFISH_API_KEY=change-me uvicorn examples.fastapi_app:app

then ``curl -X POST localhost:8000/signup -H 'content-type: application/json'
-d '{"email": "ada@example.com", "name": "Ada"}'``, and open http://localhost:8000/jobs/
(the dashboard; log in with the API key) to see the run.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI
from pydantic import BaseModel
from triggerfish.adapters.asgi import client_dependency, create_app
from triggerfish.core import IO, Client, Context, RetryPolicy, event_trigger

client = Client.from_env("fastapi-shop")
"""TRIGGERFISH_DB (SQLite) here; TRIGGERFISH_TABLE and friends on AWS."""


class SignUp(BaseModel):
    email: str
    name: str


@client.define_job(id="welcome", trigger=event_trigger("user.signed_up", schema=SignUp))
async def welcome(payload: SignUp, io: IO, ctx: Context) -> dict[str, Any]:
    mail = await io.run_task("mail", lambda: f"mail to {payload.email}",
                             retry=RetryPolicy(limit=3))  # fmt: skip
    io.logger.info("welcomed", name=payload.name)
    return {"mail": mail}


jobs = create_app(client)
app = FastAPI(title="shop", lifespan=jobs.router.lifespan_context)
"""The lifespan forwarded: the local dispatcher starts and stops with the app."""
app.mount("/jobs", jobs)

get_jobs = client_dependency(client)
"""``Depends(get_jobs)`` in a route; ``app.dependency_overrides[get_jobs]`` in a test."""


@app.post("/signup", status_code=202)
async def signup(form: SignUp, jobs: Annotated[Client, Depends(get_jobs)]) -> dict[str, Any]:
    """Signs a user up; the welcome job runs in the background."""
    event = await jobs.send_event("user.signed_up", form.model_dump(), id=f"signup-{form.email}")
    return {"event_id": event.id, "run_ids": list(event.run_ids)}


@app.get("/")
async def home() -> dict[str, str]:
    return {"app": "shop", "jobs": "/jobs/"}
