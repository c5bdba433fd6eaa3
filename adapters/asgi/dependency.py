"""`client_dependency(client)`: the client as a FastAPI dependency (``Depends``).

An app that mounts `create_app(client)` and sends events from its own routes gets the
client the FastAPI way, and a test swaps it with ``app.dependency_overrides``:

    get_jobs = client_dependency(client)

    @app.post("/signup")
    async def signup(form: SignUp, jobs: Annotated[Client, Depends(get_jobs)]) -> dict:
        event = await jobs.send_event("user.signed_up", form.model_dump())
        return {"runs": event.run_ids}

Plain Python: FastAPI is not imported here (nor needed by anything else in triggerfish).
"""

from __future__ import annotations

from collections.abc import Callable

from triggerfish.core import Client, ConfigError


def client_dependency(client: Client) -> Callable[[], Client]:
    """A no-argument callable returning `client`, for ``Depends(...)`` (one per client)."""
    if not isinstance(client, Client):
        raise ConfigError(f"client_dependency needs a Client, got {type(client).__name__}")

    def triggerfish_client() -> Client:
        """The triggerfish client (override it in tests with app.dependency_overrides)."""
        return client

    return triggerfish_client
