"""Step 6 of the resume protocol: how an invocation ends (core/engine.py calls these).

    run function returned       -> COMPLETED + output    (FAILED if the output cannot be stored)
    raised                      -> FAILED + error
    Suspend "wait"              -> WAITING until resume_at, then the after-wait hooks
    Suspend "yield"             -> EXECUTING, due now (due later after idle yields: backoff)
    past max_duration           -> TIMED_OUT
    replay guard tripped        -> FAILED naming the key

Each is one write of the run item fenced on the lease, with the usage of the invocation,
the slot given back when the run stops holding one, then "run again at T" to the
dispatcher and, for a final status, the end hooks (core/ends.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import fields as dataclass_fields
from typing import TYPE_CHECKING, Any

from . import ends
from .errors import OutputError, Suspend
from .gates import max_duration_error
from .outcome import Outcome, new_outcome
from .serialize import describe_error
from .slots import release_slot
from .store.base import RunRecord
from .types import RunStatus
from .usage import cost_of, current_meter

if TYPE_CHECKING:
    from .clock import Clock
    from .port import EndHook
    from .runlog import RunLog
    from .runtime import Runtime
    from .scopes import IoGate
    from .store.base import History, Store

logger = logging.getLogger("triggerfish.core.engine")

MAX_DURATION_REASON = "max_duration"
"""The Suspend reason of a run found past its job's max_duration before a new task."""
MAX_IDLE_YIELD_BACKOFF_SECONDS = 30.0
"""Longest delay after a yield that executed no task (n in a row: min(2^n, this) s)."""


class EndWrites:
    """The ends of an invocation, as a base of `Invocation` (the state below is its own)."""

    runtime: Runtime
    store: Store
    clock: Clock
    run: RunRecord
    history: History
    owner: str
    log: RunLog
    executed_count: int
    _completed: int
    _gate: IoGate
    _end_hooks: list[EndHook]
    call: Callable[..., Awaitable[Any]]
    """A store call whose failure stops the invocation (`Invocation.call`)."""

    async def _suspended_end(self, suspension: Suspend) -> Outcome:
        if suspension.reason == MAX_DURATION_REASON:
            job = self.runtime.jobs.get(self.run.job_id)
            error = None if job is None else max_duration_error(self.run, job, self.clock.time())
            return await self.finish(RunStatus.TIMED_OUT, error=error)
        if suspension.reason == "yield":
            return await self._yield_end()
        if suspension.reason != "wait":
            return await self.finish(RunStatus.EXECUTING, resume_at=self.clock.time())
        outcome = await self.finish(RunStatus.WAITING, resume_at=suspension.resume_at)
        for hook in self._end_hooks:
            if outcome.status is RunStatus.WAITING:
                outcome = await hook(outcome)
        return outcome

    async def _yield_end(self) -> Outcome:
        """A yield; one that executed no task backs off (due after min(2^n, 30) s)."""
        now = self.clock.time()
        if self.executed_count:
            return await self.finish(RunStatus.EXECUTING, resume_at=now)
        idle = self.run.idle_yields
        delay = min(2.0**idle, MAX_IDLE_YIELD_BACKOFF_SECONDS)
        return await self.finish(RunStatus.EXECUTING, resume_at=now + delay, idle_yields=idle + 1)

    async def _diverged_end(self) -> Outcome:
        """The history no longer matches the code: FAILED, naming the key (not retried)."""
        divergence = self._gate.divergence
        if divergence is None:  # only called once the replay guard has tripped
            raise RuntimeError(f"run {self.run.id}: a diverged end without a divergence")
        logger.warning("run %s: %s", self.run.id, divergence)
        return await self.finish(RunStatus.FAILED, error=describe_error(divergence))

    async def finish(
        self,
        status: RunStatus,
        *,
        output_json: str | None = None,
        error: dict[str, Any] | None = None,
        resume_at: float | None = None,
        idle_yields: int = 0,
        queued_reason: str | None = None,
    ) -> Outcome:
        """Ends the invocation: no io call starts after this, and the end is written.

        A QUEUED end says why (`queued_reason`: "concurrency" when not given); the run
        waits in `self.run.queue` (its job's own when None) unless `resume_at` makes it due.
        """
        self._gate.has_ended = True
        return await self.write_end(status, output_json=output_json, error=error,
                                    resume_at=resume_at, idle_yields=idle_yields,
                                    queued_reason=queued_reason)  # fmt: skip

    async def set_run(self, changes: dict[str, Any]) -> None:
        """Writes `changes` to the leased run (fenced on the lease) and keeps them in `run`."""
        await self._update_run(changes)
        self.run = self.run.with_changes(changes)

    async def write_end(
        self,
        status: RunStatus,
        *,
        output_json: str | None,
        error: dict[str, Any] | None,
        resume_at: float | None,
        idle_yields: int,
        queued_reason: str | None = None,
    ) -> Outcome:
        """Flush logs, write the final state fenced on the lease, and dispatch."""
        await self._flush_logs()
        now = self.clock.time()
        changes: dict[str, Any] = {
            "status": status,
            "output_json": output_json,
            "error": error,
            "resume_at": resume_at,
            "due_at": None if status.is_final else resume_at,
            "completed_at": now if status.is_final else None,
            "updated_at": now,
            "lease_owner": None,
            "lease_expires_at": None,
            "lost_leases": 0,
            "progress_mark": self._completed,
            "overrun": None,  # the lease watch's mark, if any: this invocation did end
            **self._loss_counts(),
            "idle_yields": idle_yields,
            **ends.end_changes(self.runtime, self.run, status, now),
        }
        changes.update(self._usage_changes(resume_at))
        if status.is_final:
            changes["expires_at"] = self.runtime.expires_at(self.run.job_id, now)
        # Every wait frees the slot (frees_slot_while_waiting is implied); a yield keeps it.
        frees_slot = self.run.slot is not None and status is not RunStatus.EXECUTING
        if frees_slot and not status.is_final:
            changes["slot"] = None  # a waiting run holds no slot; it claims one on resume
        if status is RunStatus.QUEUED and not self.history.tasks:
            changes["started_at"] = None  # not started yet: max_duration counts from the start
        if status is RunStatus.QUEUED:  # why, and where it waits (core/flow_gates.py)
            changes.update(queued_reason=queued_reason or "concurrency", queue=self.run.queue,
                           priority=self.run.priority)  # fmt: skip
        elif self.run.queued_reason is not None:
            changes["queued_reason"] = None
        try:
            is_written = await self._update_run(changes)
        except OutputError as exc:
            status, resume_at = RunStatus.FAILED, None
            changes.update(status=status, output_json=None, error=describe_error(exc),
                           resume_at=None, due_at=None, completed_at=now, hooks_due_at=None,
                           **ends.end_changes(self.runtime, self.run, status, now))  # fmt: skip
            is_written = await self._update_run(changes)
        if not is_written:
            current = await self.call(self.store.get_run, self.run.id)
            if current is not None and current.status.is_final:  # canceled meanwhile: expected
                logger.info("run %s: %s meanwhile; its end was not written", self.run.id,
                            current.status.value)  # fmt: skip
            else:
                logger.warning("run %s: lease lost before the end was written", self.run.id)
            return new_outcome(current.status if current else status)
        if frees_slot and self.run.slot is not None:
            scope = self.run.queue or self.run.job_id
            await self.call(release_slot, self.runtime, scope, self.run.slot, self.run.id)
        if resume_at is not None:
            await self.runtime.dispatch(self.run.id, resume_at)
        if status.is_final:
            await ends.run_ended(self.runtime, _with_changes(self.run, changes))
        return new_outcome(status, resume_at)

    def _loss_counts(self) -> dict[str, int]:
        """The run's timeouts and crashes in a row (core/crashes.py): kept unless this
        invocation completed a task; only written when there is something to write."""
        run = self.run
        if not (run.timeouts or run.crashes):
            return {}
        if self._completed > run.progress_mark:
            return {"timeouts": 0, "crashes": 0}
        return {"timeouts": run.timeouts, "crashes": run.crashes}

    def _usage_changes(self, resume_at: float | None) -> dict[str, Any]:
        """The run's usage with this invocation added, counting the end write itself and
        the dispatch message sent right after it (both go out after this snapshot)."""
        meter = current_meter()
        if meter is None:
            return {}
        dispatcher = self.runtime.dispatcher
        messages = (
            1 if resume_at is not None and getattr(dispatcher, "counts_messages", False) else 0
        )
        usage = meter.totals(self.run.usage, store_writes=1, queue_messages=messages)
        cost = cost_of(usage, self.runtime.prices)  # plain dicts: no pydantic model built
        return {"usage": {**usage, "cost_usd": round(cost, 9)}}

    async def _update_run(self, changes: dict[str, Any]) -> bool:
        written: bool = await self.call(
            self.store.update_run, self.run.id, owner=self.owner, changes=changes
        )
        return written

    async def _flush_logs(self) -> None:
        pending = self.log.take()
        if pending:
            await self.call(self.store.put_logs, pending)


def _with_changes(run: RunRecord, changes: dict[str, Any]) -> RunRecord:
    """`run.with_changes(changes)` of the end write the store took (its fields all known),
    without `dataclasses.replace`'s frozen __init__ (~8 µs per run)."""
    if not changes.keys() <= _RUN_FIELDS:
        return run.with_changes(changes)  # raises the usual TypeError naming the field
    changed = object.__new__(RunRecord)
    changed.__dict__.update(run.__dict__)
    changed.__dict__.update(changes)
    return changed


_RUN_FIELDS = frozenset(f.name for f in dataclass_fields(RunRecord))
