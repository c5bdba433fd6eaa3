"""One rule for caller-chosen ids (core/ids.py), the same through every door: the client,
the HTTP API, the Lambda handler's direct actions and the CLI (issue 21, item 6).

`client.send_event(id="signup-ada@example.com")` was accepted while the same id over HTTP
was a 422; now each door accepts and refuses the same ids, with the same rule in words.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning
from support.jobs import make_client
from triggerfish.adapters.aws_lambda.direct import handle_direct
from triggerfish.adapters.cli.main import build_parser
from triggerfish.core import ConfigError, SQLiteStore, event_trigger, invoke_trigger
from triggerfish.core.ids import ID_RULE

with warnings.catch_warnings():  # starlette now prefers httpx2 for its TestClient; httpx works
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

API_KEY = "ids-key-0123456789"
AUTH = {"Authorization": f"Bearer {API_KEY}"}

ACCEPTED = [
    "signup-ada@example.com",
    "evt_3N2xQk:v2",
    "0b9a4c1e-8d6f-4a57-9c61-2f3e4d5a6b7c",
    "2024-05-01T12:00:00.000Z",
    "order+42=paid~1",
    "x" * 256,
]
REFUSED = ["", "has space", "tenant/42", "why?", "tag#1", "50%", "café", "x" * 257, "tab\t"]


async def _noop(payload: Any, io: Any, ctx: Any) -> None:
    return None


def _client(tmp_path: Path) -> Any:
    client = make_client(SQLiteStore(tmp_path / "runs.db"), api_key=API_KEY)
    client.define_job("on-signup", trigger=event_trigger("user.signup"), run=_noop)
    client.define_job("by-hand", trigger=invoke_trigger(), run=_noop)
    return client


@pytest.mark.parametrize("event_id", ACCEPTED)
async def test_an_accepted_id_is_stored_and_idempotent_on_every_store(
    sqlite_or_moto_store: Any, event_id: str
) -> None:
    client = make_client(sqlite_or_moto_store)
    client.define_job("on-signup", trigger=event_trigger("user.signup"), run=_noop)
    client.define_job("by-hand", trigger=invoke_trigger(), run=_noop)
    first = await client.send_event("user.signup", {}, id=event_id)
    again = await client.send_event("user.signup", {}, id=event_id)
    assert first.id == event_id and again.run_ids == first.run_ids
    run = await client.invoke("by-hand", {}, id=event_id)
    assert (await client.get_run(event_id)).id == run.id == event_id


@pytest.mark.parametrize("event_id", REFUSED)
async def test_a_refused_event_id_is_a_config_error_naming_the_rule(
    tmp_path: Path, event_id: str
) -> None:
    client = _client(tmp_path)
    with pytest.raises(ConfigError, match="send_event id must be 1 to 256 letters") as caught:
        await client.send_event("user.signup", {}, id=event_id)
    assert ID_RULE in str(caught.value)
    with pytest.raises(ConfigError, match="invoke id must be 1 to 256 letters"):
        await client.invoke("by-hand", {}, id=event_id)
    assert len(await client.list_runs()) == 0
    client.store.close()


@pytest.mark.parametrize(("event_id", "accepted"),
                         [(i, True) for i in ACCEPTED] + [(i, False) for i in REFUSED])
def test_the_http_api_accepts_and_refuses_the_same_ids(
    tmp_path: Path, event_id: str, accepted: bool
) -> None:
    from triggerfish.adapters.asgi import create_app

    client = _client(tmp_path)
    with TestClient(create_app(client)) as http:
        event = http.post("/api/events", json={"name": "user.signup", "id": event_id},
                          headers=AUTH)  # fmt: skip
        run = http.post("/api/jobs/by-hand/invoke", json={"id": event_id}, headers=AUTH)
        if accepted:
            assert event.status_code == 202 and event.json()["id"] == event_id
            assert run.status_code == 202 and run.json()["id"] == event_id
            assert http.get(f"/api/runs/{event_id}", headers=AUTH).json()["id"] == event_id
        else:
            assert event.status_code == 422, event.text
            assert event.json()["error"]["fields"][0]["loc"] == ["body", "id"]
            assert run.status_code == 422, run.text
    client.store.close()


@pytest.mark.parametrize(("event_id", "accepted"),
                         [(i, True) for i in ACCEPTED] + [(i, False) for i in REFUSED])
async def test_the_lambda_direct_action_accepts_and_refuses_the_same_ids(
    tmp_path: Path, event_id: str, accepted: bool
) -> None:
    client = _client(tmp_path)
    action = {"action": "send_event", "name": "user.signup", "payload": {}, "id": event_id}
    answer = await handle_direct(client, action, None)
    if accepted:
        assert answer["id"] == event_id
    else:
        assert answer["error"]["code"] == "invalid_request"
    client.store.close()


@pytest.mark.parametrize("event_id", ACCEPTED)
def test_the_cli_takes_an_accepted_id(event_id: str) -> None:
    args = build_parser().parse_args(["send-event", "user.signup", "--id", event_id])
    assert args.id == event_id
    args = build_parser().parse_args(["invoke", "by-hand", "--id", event_id])
    assert args.id == event_id


@pytest.mark.parametrize("event_id", REFUSED)
def test_the_cli_refuses_a_refused_id_before_any_request(
    event_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for command, field in ((["send-event", "user.signup"], "send-event --id"),
                           (["invoke", "by-hand"], "invoke --id")):  # fmt: skip
        with pytest.raises(SystemExit) as exited:
            build_parser().parse_args([*command, f"--id={event_id}"])
        assert exited.value.code == 2
        assert f"{field} must be {ID_RULE}" in capsys.readouterr().err
