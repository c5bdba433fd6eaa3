"""Hostile-input campaign (issue 8): every HTTP route and every Lambda event shape, fuzzed.

    .venv/bin/python reliability/hostile.py --cases 5000 [--seed 1]

HTTP: hypothesis builds requests (odd ids and paths, bad or missing keys, forged and
replayed webhook signatures, truncated or non-UTF-8 or deeply nested or oversized JSON,
wrong types) and sends them with httpx to the ASGI app under uvicorn. Lambda: generated
API Gateway v1/v2, ALB, function URL, SQS, EventBridge and direct events go straight to
the handler. Checked for each case: no 5xx, no stack trace in a body, nothing raised
(except records of another source, which raise by design so their source retries), and
the store unchanged by every refused or unauthenticated request (the client has a
dispatcher that runs nothing, so only requests can change the store).

Prints cases per target, statuses seen and failures; exits 1 on any failure.
The short form runs in `make test` (tests/adapters/test_hostile_campaign.py).
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import hmac
import json
import logging
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "tests" / "adapters" / "aws_lambda" / "events"
API_KEY = "hostile-campaign-key-0123"
SECRET = "campaign-secret"
KNOWN_RUN = "known-run-1"


class IdleDispatcher:
    """Runs nothing: the store changes only through the requests under test."""

    async def dispatch(self, run_id: str, at: float) -> None:
        return None


def make_client(db: Path) -> Any:
    from pydantic import BaseModel
    from triggerfish.core import (
        IO,
        Client,
        Context,
        SQLiteStore,
        event_trigger,
        invoke_trigger,
        webhook_trigger,
    )

    class Greeting(BaseModel):
        name: str

    client = Client("hostile", store=SQLiteStore(db), api_key=API_KEY,
                    dispatcher=IdleDispatcher())

    @client.define_job(id="greet", trigger=event_trigger("user.created", schema=Greeting))
    async def greet(payload: Greeting, io: IO, ctx: Context) -> str:
        return str(await io.run_task("compose", lambda: f"hello {payload.name}"))

    @client.define_job(id="echo", trigger=invoke_trigger())
    async def echo(payload: Any, io: IO, ctx: Context) -> Any:
        return payload

    @client.define_job(id="hook", trigger=webhook_trigger("github", secret=SECRET))
    async def hook(payload: Any, io: IO, ctx: Context) -> Any:
        return payload

    @client.define_job(id="off", trigger=webhook_trigger("paused", secret=SECRET), enabled=False)
    async def off(payload: Any, io: IO, ctx: Context) -> Any:
        return payload

    return client


def snapshot(db: Path) -> tuple[Any, ...]:
    """Every row of the store's tables: equal snapshots mean nothing changed."""
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return tuple(tuple(conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall())
                     for t in tables)


# -- strategies ----------------------------------------------------------------------------

ODD_IDS = st.one_of(
    st.sampled_from(["greet", "echo", "off", "hook", "github", "paused", KNOWN_RUN, "", "..",
                     "a%2Fb", "%0A", "%00", "x" * 300, "%E9t%E9", "%FF", "run_", " "]),
    st.text(max_size=40).map(lambda s: quote(s, safe="") or "x"),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)
TIMESTAMPS = st.one_of(
    st.sampled_from(["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "1969-12-31",
                     "2025-01-01T00:00:00Z", "2025-13-45", "", "now"]),
    st.datetimes().map(lambda d: d.isoformat()), st.integers(), st.floats(),
)
EVENT_BODIES = st.fixed_dictionaries(
    {"name": st.one_of(st.just("user.created"), st.text(max_size=20), st.integers())},
    optional={"payload": st.one_of(JSON_VALUES, st.fixed_dictionaries({"name": st.text()})),
              "id": st.one_of(st.text(max_size=200), st.integers(), st.none()),
              "timestamp": TIMESTAMPS, "extra": JSON_VALUES},
)
INVOKE_BODIES = st.fixed_dictionaries(
    {}, optional={"payload": JSON_VALUES, "id": st.one_of(st.text(max_size=200), st.integers()),
                  "other": JSON_VALUES},
)


def _deep(depth: int) -> bytes:
    return b'{"name":"user.created","payload":' + b"[" * depth + b"]" * depth + b"}"


@st.composite
def bodies(draw: Any, structured: Any) -> bytes:
    """A request body: valid-shaped, truncated, non-UTF-8, deep, huge or just odd."""
    kind = draw(st.sampled_from(["shaped", "shaped", "shaped", "json", "truncated", "bytes",
                                 "latin1", "deep", "huge", "empty"]))
    if kind == "shaped":
        return json.dumps(draw(structured)).encode()
    if kind == "json":
        return json.dumps(draw(JSON_VALUES)).encode()
    if kind == "truncated":
        text = json.dumps(draw(structured)).encode()
        return text[: draw(st.integers(0, max(0, len(text) - 1)))]
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "latin1":
        return b'{"name": "user.created", "payload": {"name": "\xe9\xff"}}'
    if kind == "deep":
        return _deep(draw(st.sampled_from([65, 200, 1_000, 5_000, 50_000])))
    if kind == "huge":
        return b'{"name":"x","payload":"' + b"a" * draw(st.sampled_from([200_000, 300_000])) + b'"}'
    return b""


ROUTES = [
    ("POST", "/api/events"), ("GET", "/api/jobs"), ("POST", "/api/jobs/{id}/invoke"),
    ("GET", "/api/runs"), ("GET", "/api/runs/{id}"), ("POST", "/api/runs/{id}/cancel"),
    ("POST", "/api/runs/{id}/execute"), ("POST", "/webhooks/{id}"), ("GET", "/health"),
    ("GET", "/openapi.json"), ("GET", "/"), ("GET", "/jobs/{id}"), ("GET", "/runs/{id}"),
    ("POST", "/runs/{id}/cancel"), ("POST", "/runs/{id}/rerun"), ("POST", "/login"),
    ("POST", "/logout"), ("GET", "/api/{id}"), ("POST", "/api/{id}"),
]
AUTHS = st.sampled_from(["good", "good", "good", "none", "wrong", "basic", "empty", "latin1"])
SIGNATURES = st.sampled_from(["valid", "valid", "none", "forged", "replayed", "garbage"])


@st.composite
def http_cases(draw: Any) -> dict[str, Any]:
    method, template = draw(st.sampled_from(ROUTES))
    ident = draw(ODD_IDS)
    path = template.replace("{id}", ident)
    structured = EVENT_BODIES if "events" in template else INVOKE_BODIES
    body = draw(bodies(structured)) if method == "POST" else b""
    query = {}
    if template in ("/api/runs", "/jobs/{id}"):
        query = draw(st.dictionaries(
            st.sampled_from(["cursor", "limit", "status", "job", "bogus"]),
            st.one_of(st.text(max_size=30), st.sampled_from([
                base64.urlsafe_b64encode(b"[" * 3000 + b"]" * 3000).decode(),
                base64.urlsafe_b64encode(b'{"created_at":1e999,"id":"x"}').decode(),
                base64.urlsafe_b64encode(json.dumps({"created_at": 10**40, "id": "x"}).encode())
                .decode(), "-1", "10000000000000000000000", "0"])), max_size=3))
    return {"method": method, "template": template, "path": path, "body": body,
            "query": query, "auth": draw(AUTHS), "signature": draw(SIGNATURES),
            "deadline": draw(st.one_of(st.none(), st.sampled_from(["0", "-5", "x", "1e9",
                                                                   "99999999999", "1000"]))),
            "content_type": draw(st.sampled_from(["application/json", "text/plain",
                                                  "application/x-www-form-urlencoded"]))}


def _headers(case: dict[str, Any]) -> dict[str, Any]:
    headers: dict[str, Any] = {"Content-Type": case["content_type"]}
    auth = case["auth"]
    if auth == "good":
        headers["Authorization"] = f"Bearer {API_KEY}"
    elif auth == "wrong":
        headers["Authorization"] = "Bearer not-the-key"
    elif auth == "basic":
        headers["Authorization"] = "Basic " + base64.b64encode(b"a:b").decode()
    elif auth == "empty":
        headers["Authorization"] = "Bearer"
    elif auth == "latin1":
        headers["Authorization"] = "Bearer \xe9\xe9".encode("latin-1")
    if case["template"].startswith("/webhooks"):
        body, sig = case["body"], case["signature"]
        valid = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        if sig == "valid":
            headers["X-Hub-Signature-256"] = f"sha256={valid}"
        elif sig == "forged":
            headers["X-Hub-Signature-256"] = "sha256=" + "0" * 64
        elif sig == "replayed":  # a real signature, of another body
            headers["X-Signature"] = hmac.new(SECRET.encode(), b'{"ref":"main"}',
                                              hashlib.sha256).hexdigest()
        elif sig == "garbage":
            headers["X-Signature"] = "\xff\xfe".encode("latin-1")
    if case["deadline"] is not None:
        headers["X-Triggerfish-Deadline-Ms"] = case["deadline"]
    return headers


# -- Lambda events -------------------------------------------------------------------------

HTTP_SHAPES = ["api_gateway_v1.json", "http_api_v2.json", "alb.json", "function_url.json"]


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return data


@st.composite
def lambda_cases(draw: Any) -> tuple[str, Any]:
    shape = draw(st.sampled_from(["http", "http", "sqs", "schedule", "direct", "garbage"]))
    if shape == "http":
        name = draw(st.sampled_from(HTTP_SHAPES))
        event = copy.deepcopy(_load(name))
        method, template = draw(st.sampled_from(ROUTES))
        path = template.replace("{id}", draw(ODD_IDS))
        if "rawPath" in event:
            event["rawPath"] = path
            event["requestContext"]["http"].update(method=method, path=path)
        else:
            event.update(path=path, httpMethod=method)
        headers = dict(event.get("headers") or {})
        if draw(st.booleans()):
            headers["authorization"] = f"Bearer {API_KEY}"
        event["headers"] = headers
        if "multiValueHeaders" in event:
            event["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
        body = draw(bodies(EVENT_BODIES))
        if draw(st.booleans()):
            event.update(body=base64.b64encode(body).decode(), isBase64Encoded=True)
        else:
            event.update(body=body.decode("utf-8", "replace"), isBase64Encoded=False)
        for _ in range(draw(st.integers(0, 2))):  # damage: a key removed or set to junk
            key = draw(st.sampled_from(sorted(event)))
            if draw(st.booleans()):
                event.pop(key)
            else:
                event[key] = draw(st.one_of(st.none(), JSON_VALUES,
                                            st.just("***not base64***")))
        return f"lambda:{name.removesuffix('.json')}", event
    if shape == "sqs":
        records = []
        for _ in range(draw(st.integers(0, 4))):
            record = copy.deepcopy(_load("sqs_single.json")["Records"][0])
            record["body"] = draw(st.one_of(
                st.text(max_size=50), JSON_VALUES.map(json.dumps),
                st.builds(lambda r, at: json.dumps({"type": "resume", "run_id": r, "at": at}),
                          ODD_IDS, st.one_of(st.floats(), st.integers(), st.text())),
            ))
            if draw(st.booleans()):
                record["messageId"] = draw(st.one_of(st.none(), st.just(""), st.integers(),
                                                     st.text(max_size=10)))
            records.append(record)
        event: Any = {"Records": records}
        if draw(st.integers(0, 5)) == 0:
            event = {"Records": draw(st.one_of(st.none(), st.text(), st.integers()))}
        return "lambda:sqs", event
    if shape == "schedule":
        event = _load("eventbridge_schedule.json")
        event["detail"] = draw(JSON_VALUES)
        return "lambda:eventbridge", event
    if shape == "direct":
        action = draw(st.sampled_from(["send_event", "invoke", "execute", "get_run", "nope",
                                       None, 3]))
        event = {"action": action, **draw(st.dictionaries(
            st.sampled_from(["name", "payload", "id", "job_id", "run_id", "tasks"]),
            st.one_of(JSON_VALUES, ODD_IDS), max_size=4))}
        if draw(st.integers(0, 6)) == 0:
            deep: Any = []
            for _ in range(draw(st.sampled_from([100, 900]))):
                deep = [deep]
            event["payload"] = deep
        return "lambda:direct", event
    return "lambda:garbage", draw(st.one_of(JSON_VALUES, st.dictionaries(st.text(max_size=10),
                                                                          JSON_VALUES)))


# -- running ---------------------------------------------------------------------------------


@dataclass
class Report:
    cases: Counter[str] = field(default_factory=Counter)
    statuses: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    failures: list[str] = field(default_factory=list)

    def fail(self, target: str, what: str, case: Any) -> None:
        try:
            shown = repr(case)[:300]
        except RecursionError:
            shown = "<deeply nested>"
        self.failures.append(f"{target}: {what}: {shown}")

    def print(self, seconds: float) -> None:
        total = sum(self.cases.values())
        print(f"hostile input: {total} cases in {seconds:.0f} s, {len(self.failures)} failures")
        for target in sorted(self.cases):
            seen = ", ".join(f"{s}x{n}" for s, n in sorted(self.statuses[target].items()))
            print(f"  {target:34} {self.cases[target]:5}  {seen}")
        for failure in self.failures[:30]:
            print("  FAIL", failure)


def _has_trace(text: str) -> bool:
    return "Traceback" in text or 'File "' in text


class ThreadedServer:
    def __init__(self, app: Any) -> None:
        from socket import socket

        with socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="critical",
                                h11_max_incomplete_event_size=1 << 20)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise TimeoutError("server did not start")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def run_http(cases: int, db: Path, report: Report, seed: int | None) -> None:
    from triggerfish.adapters.asgi import create_app

    client = make_client(db)
    with ThreadedServer(create_app(client)) as server, httpx.Client(
        base_url=server.url, timeout=30
    ) as http:
        http.post("/api/jobs/echo/invoke", json={"id": KNOWN_RUN, "payload": 1},
                  headers={"Authorization": f"Bearer {API_KEY}"})

        @given(case=http_cases())
        @settings(max_examples=cases, deadline=None, database=None, derandomize=seed is not None,
                  suppress_health_check=list(HealthCheck))
        def one(case: dict[str, Any]) -> None:
            target = f"{case['method']} {case['template']}"
            before = snapshot(db)
            try:
                response = http.request(case["method"], case["path"], content=case["body"],
                                        params=case["query"], headers=_headers(case))
            except httpx.HTTPError as exc:
                report.cases[target] += 1
                report.statuses[target][type(exc).__name__] += 1
                report.fail(target, f"transport error {exc!r}", case)
                return
            status = response.status_code
            report.cases[target] += 1
            report.statuses[target][str(status)] += 1
            if status >= 500:
                report.fail(target, f"status {status}", case)
            if _has_trace(response.text):
                report.fail(target, "stack trace in body", case)
            is_api = case["template"].startswith("/api/")
            refused = status >= 300 or (is_api and case["auth"] != "good")
            if refused and snapshot(db) != before:
                report.fail(target, f"store changed by a refused request ({status})", case)

        one()
    client.store.close()


def run_lambda(cases: int, db: Path, report: Report, seed: int | None) -> None:
    from triggerfish.adapters.aws_lambda import create_handler
    from triggerfish.adapters.aws_lambda.handler import UnknownEventError

    client = make_client(db)
    handler = create_handler(client, api_key=API_KEY)

    @given(case=lambda_cases())
    @settings(max_examples=cases, deadline=None, database=None, derandomize=seed is not None,
              suppress_health_check=list(HealthCheck))
    def one(case: tuple[str, Any]) -> None:
        target, event = case
        report.cases[target] += 1
        before = snapshot(db)
        try:
            answer = handler(event, None)
        except UnknownEventError:
            report.statuses[target]["raised-by-design"] += 1
            return
        except Exception as exc:  # noqa: BLE001 - the campaign records what escaped
            report.statuses[target]["raised"] += 1
            report.fail(target, f"raised {type(exc).__name__}: {exc}"[:200], event)
            return
        try:
            text = json.dumps(answer, default=str)
        except (TypeError, ValueError, RecursionError) as exc:
            report.fail(target, f"answer is not JSON ({exc})", event)
            return
        if _has_trace(text):
            report.fail(target, "stack trace in answer", event)
        refused = False
        if isinstance(answer, dict) and "statusCode" in answer:
            status = int(answer["statusCode"])
            report.statuses[target][str(status)] += 1
            refused = status >= 300
            if status >= 500:
                report.fail(target, f"status {status}", event)
        elif isinstance(answer, dict) and "batchItemFailures" in answer:
            ids = [f["itemIdentifier"] for f in answer["batchItemFailures"]]
            report.statuses[target][f"failures={len(ids)}"] += 1
            given_ids = {r.get("messageId") for r in event.get("Records") or []
                         if isinstance(r, dict)}
            if any(not isinstance(i, str) or not i or i not in given_ids for i in ids):
                report.fail(target, f"batchItemFailures names an id not in the batch {ids}",
                            event)
        elif isinstance(answer, dict) and set(answer) == {"error"}:
            report.statuses[target][f"error:{answer['error'].get('code')}"] += 1
            refused = True
        else:
            report.statuses[target]["ok"] += 1
        if refused and snapshot(db) != before:
            report.fail(target, "store changed by a refused event", event)

    one()
    client.store.close()


def run(cases: int, *, seed: int | None = None, quiet: bool = False) -> Report:
    """Runs the campaign (about 60% HTTP, 40% Lambda cases) and returns its report."""
    logging.disable(logging.CRITICAL)  # refused requests log warnings by design
    report = Report()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            http_cases_n = max(1, cases * 6 // 10)
            run_http(http_cases_n, Path(tmp) / "http.db", report, seed)
            run_lambda(max(1, cases - http_cases_n), Path(tmp) / "lambda.db", report, seed)
    finally:
        logging.disable(logging.NOTSET)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000, help="cases in all (default 5000)")
    parser.add_argument("--seed", type=int, default=None, help="derandomize (repeatable run)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    report = run(args.cases, seed=args.seed)
    report.print(time.monotonic() - started)
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
