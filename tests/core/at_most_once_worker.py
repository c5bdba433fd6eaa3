"""A worker process for the at_most_once crash test: SIGKILLed while its task's fn runs.

    python at_most_once_worker.py STORE_KIND LOCATION RUN_ID|new[:retry] EFFECTS [CLOCK_OFFSET]

STORE_KIND is sqlite (LOCATION a file) or dynamodb (LOCATION "url|table"). The job charges
once (at_most_once): the fn appends "charge" to EFFECTS, then sleeps for a long time on its
first attempt (the test kills it there). "new:retry" starts a run whose task has a retry policy
that retries TaskInterrupted.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from crash_worker import open_client  # its sibling, on sys.path as the script's folder
from triggerfish.core import (
    IO,
    Client,
    Context,
    RetryPolicy,
    TaskInterrupted,
    invoke_trigger,
)


def build_client(kind: str, location: str, effects: Path, offset: float) -> Client:
    client = open_client("at-most-once", kind, location, offset)

    @client.define_job(id="charge", trigger=invoke_trigger())
    async def charge(payload: Any, io: IO, ctx: Context) -> str:
        async def fn() -> str:
            with effects.open("a") as out:
                out.write("charge\n")
            if effects.read_text().count("charge") == 1:
                await asyncio.sleep(60)  # the first attempt is killed here
            return "charged"

        retry = RetryPolicy(limit=3, retry_on=TaskInterrupted, randomize=False) if payload else None
        result: str = await io.run_task("charge", fn, at_most_once=True, retry=retry)
        return result

    return client


async def main() -> None:
    kind, location, run_id, effects = sys.argv[1:5]
    offset = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    client = build_client(kind, location, Path(effects), offset)
    if run_id.startswith("new"):
        run = await client.invoke("charge", {"retry": True} if run_id == "new:retry" else None)
        print(run.id, flush=True)
        return
    while True:
        outcome = await client.execute(run_id, deadline=client.clock.time() + 120)
        print(outcome.status.value, flush=True)
        if outcome.status.is_final:
            return
        if outcome.resume_at is not None:
            client.clock.advance_to(outcome.resume_at)  # type: ignore[attr-defined]


if __name__ == "__main__":
    asyncio.run(main())
