"""`io.background_fetch`, the run's side (the worker's side is core/fetch.py).

    recorded final              -> its response, or the same TaskFailed (no write)
    retry not yet due           -> suspend until it is
    otherwise                   -> record the task WAITING (in flight), hand the dispatcher
                                   a FetchMessage, suspend until the worker wakes the run
    no worker (send_fetch)      -> the request runs inline, as an io.run_task
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import TaskFailed
from ..fetch import FETCH_RECHECK_SECONDS, FetchError, FetchMessage, fetch
from ..fetch_retry import policy_for
from ..outcome import Outcome
from ..serialize import load_json
from ..types import TaskStatus
from ..wakes import wake
from .tasks import next_attempt, run_task

if TYPE_CHECKING:
    from ..port import Port
    from ..retry import RetryPolicy


async def background_fetch(inv: Port, key: str, message: FetchMessage) -> Any:
    """A fetch done by the dispatcher's worker; inline when there is none."""
    send = getattr(inv.runtime.dispatcher, "send_fetch", None)
    if send is None:
        async def request() -> dict[str, Any]:
            return await fetch(message.url, method=message.method, headers=message.headers,
                               body=message.body, body_base64=message.body_base64,
                               retry=message.retry)  # fmt: skip

        retry = message.retry
        return await run_task(inv, key, request, name=f"{message.method} {message.url}",
                              retry=_ByStatus(retry) if isinstance(retry, dict) else retry,
                              icon="fetch", properties=None)  # fmt: skip
    claim = inv.claim(key, kind="fetch")
    recorded = claim.recorded
    if recorded is not None and recorded.status.is_final:
        return inv.replay(key, recorded)
    now = inv.clock.time()
    if recorded is not None and recorded.resume_at is not None and recorded.resume_at > now:
        raise inv.suspend(recorded.resume_at, "wait")
    await inv.check_budget()
    await inv.record_parent_running()
    # A request still in flight at its recheck was lost: send the same attempt again.
    is_resend = recorded is not None and recorded.in_flight
    attempt = recorded.attempts if is_resend and recorded else next_attempt(recorded)
    waiting = claim.task(
        status=TaskStatus.WAITING, kind="fetch", attempts=attempt,
        name=f"{message.method} {message.url}", icon="fetch",
        started_at=recorded.started_at if recorded else now,
        error=recorded.error if recorded else None, resume_at=now + FETCH_RECHECK_SECONDS,
        in_flight=True, attempt_base=recorded.attempt_base if recorded else 0,
    )  # fmt: skip
    final = await inv.record(waiting)
    if final.status is TaskStatus.COMPLETED:  # the worker answered meanwhile
        return load_json(final.output_json)
    if final.status.is_final:
        raise TaskFailed(key, final.error or {})
    _sent_fetches(inv).append(claim.task_id)
    await send(message.model_copy(update={"run_id": inv.run.id, "task_id": claim.task_id,
                                          "key": key, "attempt": attempt}))  # fmt: skip
    raise inv.suspend(waiting.resume_at, "wait")


class _ByStatus:
    """Policies by status for an inline fetch: run_task asks which one retries an error."""

    def __init__(self, policies: dict[str, RetryPolicy]) -> None:
        self._policies = policies

    def for_error(self, exc: BaseException) -> RetryPolicy | None:
        return policy_for(self._policies, exc.status if isinstance(exc, FetchError) else None)


def _sent_fetches(inv: Port) -> list[str]:
    """The fetches this invocation sent; the first one registers the recheck at its end."""
    sent: list[str] | None = inv.scratch.get(__name__)
    if sent is None:
        sent = inv.scratch[__name__] = []

        async def recheck(outcome: Outcome) -> Outcome:
            return await _recheck_fetches(inv, sent, outcome)

        inv.after_wait(recheck)
    return sent


async def _recheck_fetches(inv: Port, sent: list[str], outcome: Outcome) -> Outcome:
    """A fetch recorded while this invocation was ending must not wait for the recheck.

    The worker's own wake-up may have found the run still leased; now that the lease is
    released, look once more and bring the next invocation forward if a result is in.
    """
    for task_id in sent:
        current = await inv.call(inv.store.get_task, inv.run.id, task_id)
        if current is not None and (current.status.is_final or not current.in_flight):
            at = inv.clock.time() if current.status.is_final else current.resume_at
            await wake(inv.runtime, inv.run.id, at or inv.clock.time())
            return Outcome(status=outcome.status, resume_at=at)
    return outcome
