"""`io.invoke_and_wait`: start a child run once, wait (no invocation held) for its end;
`io.invoke`: start one (a task) and go on, its end POSTed to `callback_url` if given.

    recorded final     -> the child's output, or the same TaskFailed     (no write)
    first call         -> record the wait task WAITING (with the child's run id), then
                          create the child run (id derived from run + task: started once),
                          linked back by parent_run_id / parent_task_id
    child already ended-> record its outcome now (it may have ended before we suspended)
    otherwise          -> suspend until woken; the child's end records the outcome on the
                          wait task and wakes this run (core/ends.py). Every
                          CHILD_RECHECK_SECONDS the run rechecks the child itself, so a crash
                          between the child's end write and that record loses nothing.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..ends import child_outcome
from ..errors import ConfigError, JobNotFound, OutputError, PayloadTooLarge, TaskFailed
from ..serdes import dump_output
from ..serialize import describe_error
from ..starts import MAX_PAYLOAD_BYTES, create_run, derived_id, payload_json
from ..types import TaskStatus

if TYPE_CHECKING:
    from ..port import Port
    from ..serdes import Serdes
    from ..store.base import RunRecord
    from ..task_context import TaskContext

MAX_RUN_ID_CHARS = 200
"""The longest run id `io.invoke(id=...)` accepts (it is part of store keys and URLs)."""

CHILD_RECHECK_SECONDS = 600.0
"""A parent waiting on a child reads the child run itself this often (crash recovery)."""


async def invoke_and_wait(
    inv: Port, key: str, job_id: str, payload: Any, *, serdes: Serdes | None = None
) -> Any:
    """Starts the child run once and returns its output (see the module docstring).

    With a serdes (this call's, else the client's), the payload sent is its text (JSON
    text, as every run's payload) and the child's output is decoded by it.
    """
    job = inv.runtime.jobs.get(job_id)
    if job is None:
        raise JobNotFound(job_id)
    codec = serdes or inv.runtime.serdes
    text = payload_json(payload) if codec is None else _payload_text(codec, payload, key)
    claim = inv.claim(key)
    recorded = claim.recorded
    if recorded is not None and recorded.status.is_final:
        return inv.replay(key, recorded, codec)
    now = inv.clock.time()
    if recorded is not None and recorded.resume_at is not None and recorded.resume_at > now:
        raise inv.suspend(recorded.resume_at, "wait")
    child_id = derived_id(f"{inv.run.id}\x00{claim.task_id}", job_id)
    if recorded is None:
        await inv.check_budget()
        await inv.record_parent_running()
        waiting = claim.task(
            kind="invoke", status=TaskStatus.WAITING, attempts=1, name=f"invoke {job_id}",
            icon="invoke", started_at=now, child_run_id=child_id,
            resume_at=now + CHILD_RECHECK_SECONDS,
        )  # fmt: skip
        recorded = await inv.record(waiting)
        if recorded.status.is_final:
            return inv.replay(key, recorded, codec)
    child: RunRecord | None = await inv.call(inv.store.get_run, child_id)
    if child is None:
        child = await inv.call(
            create_run, inv.runtime, job, text, run_id=child_id, parent_run_id=inv.run.id,
            parent_task_id=claim.task_id,
        )  # fmt: skip
    if child.status.is_final:
        final = child_outcome(recorded, child, inv.clock.time())
        try:
            final = await inv.record(final)
        except OutputError as exc:  # the child's output is too large for this store
            final = await inv.record(replace(final, status=TaskStatus.ERRORED, output_json=None,
                                             error=describe_error(exc)))  # fmt: skip
        inv.executed_count += 1
        return inv.replay(key, final, codec)
    recheck_at = inv.clock.time() + CHILD_RECHECK_SECONDS
    if recorded.resume_at is None or recorded.resume_at <= now:
        recorded = await inv.record(replace(recorded, resume_at=recheck_at))
        if recorded.status.is_final:
            return inv.replay(key, recorded, codec)
    raise inv.suspend(recorded.resume_at, "wait")




def _payload_text(codec: Serdes, payload: Any, key: str) -> str:
    """The payload as `codec` writes it; it must be JSON text (a run's payload is JSON)."""
    text = dump_output(payload, key=key, serdes=codec)
    try:
        json.loads(text)
    except ValueError:
        raise OutputError(key, "the payload sent must be JSON text; this serdes wrote other "
                               "text") from None  # fmt: skip
    size = len(text.encode())
    if size > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(
            f"payload is {size} bytes as JSON; the limit is {MAX_PAYLOAD_BYTES} bytes"
        )
    return text
async def invoke_and_wait_result(
    inv: Port, key: str, job_id: str, payload: Any, *, serdes: Serdes | None = None
) -> Any:
    """v2's shape: ``{"ok": True, "output": ...}`` or ``{"ok": False, "error": {...}}``."""
    try:
        output = await invoke_and_wait(inv, key, job_id, payload, serdes=serdes)
    except TaskFailed as exc:
        return {"ok": False, "error": exc.error}
    return {"ok": True, "output": output}


async def invoke(
    inv: Port, key: str, job_id: str, payload: Any, *, id: str | None, callback_url: str | None
) -> dict[str, str]:
    """Starts a run of `job_id` once (a task: replays start no second run); ``{"id": run_id}``.

    The run's id is `id` when given (a run that exists under it is not started again),
    else derived from this task's identity, so a retried start creates no second run.
    """
    from .tasks import run_task

    job = inv.runtime.jobs.get(job_id)
    if job is None:
        raise JobNotFound(job_id)
    where = f"io.invoke {key!r}"
    if id is not None and not (isinstance(id, str) and 0 < len(id) <= MAX_RUN_ID_CHARS):
        raise ConfigError(f"{where}: id must be a str of 1 to {MAX_RUN_ID_CHARS} characters, "
                          f"got {id!r}")  # fmt: skip
    if callback_url is not None and not (
        isinstance(callback_url, str) and callback_url.lower().startswith(("http://", "https://"))
    ):
        raise ConfigError(f"{where}: callback_url must start with http:// or https://, "
                          f"got {callback_url!r}")  # fmt: skip
    text = payload_json(payload)

    async def start(task: TaskContext) -> dict[str, str]:
        run_id = id or derived_id(task.idempotency_key, job_id)
        run = await inv.call(create_run, inv.runtime, job, text, run_id=run_id,
                             callback_url=callback_url)  # fmt: skip
        return {"id": run.id}

    started: dict[str, str] = await run_task(
        inv, key, start, name=f"invoke {job_id}", retry=None, icon="invoke", properties=None
    )
    return started
