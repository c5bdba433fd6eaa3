"""``POST /webhooks/{id}`` with several jobs on one id and filters over body, headers and
query, under uvicorn (issue 16, item 10)."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import httpx
from support.live_server import API_KEY, ThreadedServer
from triggerfish.adapters.asgi import create_app
from triggerfish.core import IO, Client, Context, SQLiteStore, webhook_trigger


def make_client(db_path: Path) -> Client:
    client = Client("hooks", store=SQLiteStore(db_path), api_key=API_KEY)

    def define(job_id: str, secret: str = "s", enabled: bool = True, **options: Any) -> None:
        trigger = webhook_trigger("shop", secret=secret, **options)

        @client.define_job(id=job_id, trigger=trigger, enabled=enabled)
        async def run(payload: Any, io: IO, ctx: Context) -> Any:
            return {"job": job_id, "payload": payload}

    define("orders", filter={"headers": {"x-topic": ["orders/create"]}})
    define("refunds", filter={"body": {"kind": ["refund"]}, "query": {"shop": ["eu"]}})
    define("audit")
    define("other-secret", secret="t")
    define("off", enabled=False)
    return client


def post(url: str, body: Any, *, secret: str = "s", **headers: str) -> httpx.Response:
    raw = json.dumps(body).encode()
    signature = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return httpx.post(url, content=raw, headers={"X-Signature": signature, **headers})


def test_a_delivery_starts_every_enabled_job_whose_filter_matches(tmp_path: Path) -> None:
    client = make_client(tmp_path / "runs.db")
    with ThreadedServer(create_app(client)) as server:
        url = f"{server.url}/webhooks/shop"
        both = post(url, {"kind": "order"}, **{"X-Topic": "orders/create", "X-Request-Id": "r1"})
        assert both.status_code == 202, both.text
        jobs = [client.store.get_run(r).job_id for r in both.json()["run_ids"]]
        assert jobs == ["orders", "audit"]  # definition order; the first answers as before
        assert both.json()["id"] == both.json()["run_ids"][0]
        assert both.headers["location"].endswith(f"/api/runs/{both.json()['id']}")

        refund = post(f"{url}?shop=eu", {"kind": "refund"}, **{"X-Request-Id": "r2"})
        jobs = [client.store.get_run(r).job_id for r in refund.json()["run_ids"]]
        assert jobs == ["refunds", "audit"]
        again = post(f"{url}?shop=eu", {"kind": "refund"}, **{"X-Request-Id": "r2"})
        assert again.json()["run_ids"] == refund.json()["run_ids"]  # a redelivery

        only_other = post(url, {"kind": "x"}, secret="t")
        jobs = [client.store.get_run(r).job_id for r in only_other.json()["run_ids"]]
        assert jobs == ["other-secret"]  # the signature picks the jobs with that secret
        assert post(url, {"kind": "x"}, secret="wrong").status_code == 401


def test_a_delivery_no_filter_matches_answers_200_with_no_runs(tmp_path: Path) -> None:
    client = Client("hooks", store=SQLiteStore(tmp_path / "runs.db"), api_key=API_KEY)

    @client.define_job(id="pushes", trigger=webhook_trigger(
        "gh", secret="s", filter={"headers": {"x-github-event": ["push"]}}))  # fmt: skip
    async def pushes(payload: Any, io: IO, ctx: Context) -> Any:
        return payload

    with ThreadedServer(create_app(client)) as server:
        answer = post(f"{server.url}/webhooks/gh", {"n": 1}, **{"X-GitHub-Event": "issues"})
        assert (answer.status_code, answer.json()) == (200, {"run_ids": []})
        assert client.store.list_runs(job_id=None, status=None, limit=10, cursor=None)[0] == []
