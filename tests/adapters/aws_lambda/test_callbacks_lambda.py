"""`io.wait_for_request` through Lambda's HTTP path: an API Gateway v2 event answers the
callback, with no API key, into the same ASGI app."""

from __future__ import annotations

import json
from typing import Any

from lambda_support import FakeContext, http_request, load_event
from support.jobs import make_client
from triggerfish.adapters.aws_lambda import create_handler
from triggerfish.core import IO, Context, RunStatus, SQLiteStore, invoke_trigger

API_KEY = "lambda-test-key"


def test_an_http_api_v2_event_answers_a_callback_and_the_run_resumes(tmp_path: Any) -> None:
    client = make_client(SQLiteStore(tmp_path / "runs.db"), api_key=API_KEY,
                         base_url="https://api.example.com")  # fmt: skip
    urls: list[str] = []

    @client.define_job(id="approval", trigger=invoke_trigger())
    async def approval(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.wait_for_request("approve", urls.append)

    handler = create_handler(client)
    base = load_event("http_api_v2.json")
    started = handler(http_request(base, "POST", "/api/jobs/approval/invoke", {}, api_key=API_KEY),
                      None)  # fmt: skip
    run_id = json.loads(started["body"])["id"]
    first = handler({"action": "execute", "run_id": run_id}, FakeContext(client.clock, 5000))
    assert first["status"] == RunStatus.WAITING.value
    (url,) = urls
    path = url.removeprefix("https://api.example.com")

    def post(body: Any) -> dict[str, Any]:
        event = http_request(base, "POST", path, body, api_key="")
        del event["headers"]["authorization"]
        answer: dict[str, Any] = handler(event, None)
        return answer

    assert post({"ok": 1})["statusCode"] == 200
    assert post({"ok": 2})["statusCode"] == 409
    done = handler({"action": "execute", "run_id": run_id}, FakeContext(client.clock, 5000))
    assert done["status"] == RunStatus.COMPLETED.value
    read = handler(http_request(base, "GET", f"/api/runs/{run_id}", api_key=API_KEY), None)
    assert json.loads(read["body"])["output"] == {"ok": 1}
