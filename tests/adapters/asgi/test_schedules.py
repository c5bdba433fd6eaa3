"""``GET /api/schedules`` under real uvicorn: each declared schedule and its next fire times
(stored schedules: tests/adapters/asgi/test_fleet_api.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from triggerfish.core import (
    IO,
    Client,
    Context,
    SQLiteStore,
    cron_trigger,
    event_trigger,
    interval_trigger,
)
from triggerfish.core.schedule import next_fire_times

KEY = "schedules-key"


def test_schedules_list_each_trigger_and_its_next_fire_times(serve: Any, tmp_path: Path) -> None:
    from triggerfish.adapters.asgi import create_app

    client = Client("sched", store=SQLiteStore(tmp_path / "runs.db"), api_key=KEY)

    async def run(payload: Any, io: IO, ctx: Context) -> None:
        return None

    nightly = cron_trigger("30 2 * * *", timezone="Europe/Berlin")
    client.define_job("nightly", run=run, trigger=nightly)
    client.define_job("daily", run=run, trigger=interval_trigger(86400), enabled=False)
    client.define_job("on-event", run=run, trigger=event_trigger("x"))

    with serve(create_app(client)) as server:
        headers = {"Authorization": f"Bearer {KEY}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=10.0) as http:
            assert httpx.get(f"{server.url}/api/schedules").status_code == 401
            before = datetime.now(UTC)
            body = http.get("/api/schedules").json()
            after = datetime.now(UTC)
            three = http.get("/api/schedules", params={"count": 3}).json()
            bounds = [http.get("/api/schedules", params={"count": c}) for c in ("0", "101", "x")]
            unknown = http.get("/api/schedules", params={"limit": 3})  # job and count only
            spec = http.get("/openapi.json").json()
    client.store.close()

    by_job = {s["job_id"]: s for s in body["schedules"]}
    assert set(by_job) == {"nightly", "daily"}
    assert {k: by_job["nightly"][k] for k in ("id", "cron", "interval", "timezone", "declared",
                                               "paused", "payload")} == {
        "id": "nightly", "cron": "30 2 * * *", "interval": None, "timezone": "Europe/Berlin",
        "declared": True, "paused": False, "payload": None,
    }  # fmt: skip
    assert by_job["daily"] == {
        "id": "daily", "job_id": "daily", "cron": None, "interval": 86400.0, "timezone": None,
        "payload": None, "paused": True, "next_at": None, "declared": True,
        "next_fire_times": [],
    }  # a disabled job's trigger: paused, no fire times  # fmt: skip
    assert datetime.fromisoformat(by_job["nightly"]["next_at"]) == datetime.fromisoformat(
        by_job["nightly"]["next_fire_times"][0]
    )
    nightly_times = by_job["nightly"]["next_fire_times"]
    assert len(nightly_times) == 5
    assert nightly_times in (
        [t.isoformat() for t in next_fire_times(nightly, moment, 5)] for moment in (before, after)
    )
    assert all(datetime.fromisoformat(t).tzinfo == UTC for t in nightly_times)
    assert [len(s["next_fire_times"]) for s in three["schedules"]] == [3, 0]
    for answer in bounds:
        assert answer.status_code == 422
        assert "query.count: must be an integer from 1 to 100" in answer.json()["error"]["message"]
    assert unknown.status_code == 422
    operation = spec["paths"]["/api/schedules"]["get"]
    count = next(p for p in operation["parameters"] if p["name"] == "count")
    assert count["schema"]["maximum"] == 100
    assert "ScheduleList" in spec["components"]["schemas"]
