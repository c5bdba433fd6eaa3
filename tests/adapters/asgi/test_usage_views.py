"""Usage and cost where a user reads runs: the JSON API, the dashboard and the CLI."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount
from triggerfish.adapters.asgi import create_app
from triggerfish.adapters.asgi.dashboard import dashboard_routes
from triggerfish.adapters.cli import render_run
from triggerfish.core import IO, Client, Context, SQLiteStore, invoke_trigger
from triggerfish.core.usage import Prices

KEY = "unit-key"


async def test_cost_is_shown_per_run_and_per_job_in_api_dashboard_and_cli(tmp_path: Path) -> None:
    client = Client("unit", store=SQLiteStore(tmp_path / "runs.db"),
                    prices=Prices(lambda_gb_second=0.5))

    @client.define_job("echo", trigger=invoke_trigger())
    async def echo(payload: Any, io: IO, ctx: Context) -> Any:
        return await io.run_task("x", lambda: payload)

    runs = [await client.invoke("echo", n) for n in range(2)]
    for run in runs:
        await client.execute(run.id)
    costs = [(await client.get_run(run.id)).cost_usd for run in runs]
    assert all(cost > 0 for cost in costs)

    api = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(client, api_key=KEY,
                                                                          dashboard=False)),
                            base_url="http://t", headers={"Authorization": f"Bearer {KEY}"})
    async with api:
        answer = (await api.get(f"/api/runs/{runs[0].id}")).json()
    assert answer["cost_usd"] == costs[0]
    assert answer["usage"]["invocations"] == 1 and answer["usage"]["store_writes"] >= 2
    assert "cost       $" in render_run(answer)

    app = Starlette(routes=[Mount("/d", routes=dashboard_routes(client, api_key=KEY))])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://t") as http:
        await http.post("/d/login", data={"api_key": KEY, "next": "/d/"})
        page = (await http.get(f"/d/runs/{runs[0].id}")).text
        assert f"${costs[0]:.6f}" in page
        job = (await http.get("/d/jobs/echo")).text
    total = re.search(r'class="job-cost"><span class="num">\$([0-9.]+)</span> total, '
                      r'<span class="num">\$([0-9.]+)</span> per run', job)
    assert total is not None
    assert float(total.group(1)) == round(sum(costs), 6)
    assert float(total.group(2)) == round(sum(costs) / 2, 6)
