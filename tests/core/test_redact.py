"""io.run_task(redact=): the run gets the whole output, the store never holds those paths
(issue 16 item 7), on SQLite and DynamoDB."""

from __future__ import annotations

from typing import Any

import pytest
from support.jobs import make_client
from triggerfish.core import IO, ConfigError, Context, invoke_trigger
from triggerfish.core.testing import drive

CHARGE = {
    "id": "ch_1",
    "data": {"object": {"card": {"number": "4242424242424242", "cvc": "123"}, "amount": 500}},
    "items": [{"token": "t1", "sku": "a"}, {"token": "t2", "sku": "b"}],
}


async def test_the_run_gets_the_whole_output_and_the_store_only_the_redacted_one(
    sqlite_or_moto_store: Any,
) -> None:
    client = make_client(sqlite_or_moto_store)
    seen: list[Any] = []
    redact = {"paths": ["data.object.card", "items.*.token", "absent.path", "id.deeper"]}

    @client.define_job(id="charge", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> Any:
        charge = await io.run_task("charge", lambda: CHARGE, redact=redact)
        seen.append(charge)
        io.logger.info("charged", amount=charge["data"]["object"]["amount"])
        await io.wait("settle", seconds=60)  # the next invocation replays "charge"
        return {"card": charge["data"]["object"]["card"]}

    run = await client.invoke("charge", None)
    await drive(client, run.id)

    redacted = {
        "id": "ch_1",
        "data": {"object": {"card": "[REDACTED]", "amount": 500}},
        "items": [{"token": "[REDACTED]", "sku": "a"}, {"token": "[REDACTED]", "sku": "b"}],
    }
    # The invocation that ran the task got the whole output; the replaying one gets what was
    # stored (the secret is not kept anywhere, so no later invocation can see it).
    assert seen == [CHARGE, redacted]
    finished = await client.get_run(run.id)
    assert finished.tasks[0].output == redacted
    assert finished.output == {"card": "[REDACTED]"}
    assert "4242" not in finished.model_dump_json()


@pytest.mark.parametrize(
    "redact", [["data.card"], {"paths": "data.card"}, {"paths": ["a..b"]}, {"fields": ["a"]}]
)
async def test_a_bad_redact_option_is_a_config_error(sqlite_or_moto_store: Any, redact: Any) -> None:
    client = make_client(sqlite_or_moto_store)
    errors: list[str] = []

    @client.define_job(id="bad", trigger=invoke_trigger())
    async def job(payload: Any, io: IO, ctx: Context) -> None:
        try:
            await io.run_task("t", lambda: CHARGE, redact=redact)
        except ConfigError as exc:
            errors.append(str(exc))

    run = await client.invoke("bad", None)
    await drive(client, run.id)
    assert len(errors) == 1 and "redact" in errors[0]
    assert (await client.get_run(run.id)).tasks == []
