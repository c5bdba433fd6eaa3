"""What a lost lease was, and what the run does about it (issue 17 part 3).

A lease that expired without its invocation ending means the invocation died. The next
invocation that takes the lease over (core/acquire.py, the store counts it in
`lost_leases`) tells a timeout from a crash by the lease watch's mark (core/lease_watch.py):

    lost lease, `overrun` marked   the platform stopped it at its deadline while the marked
                                   task ran: a timeout; MAX_TIMEOUTS in a row without a newly
                                   completed task -> TIMED_OUT, the error naming that task
    lost lease, no mark            the process died before its deadline (OOM, a killed host,
                                   SIGKILL): a crash; the run goes on at once after the first,
                                   then backs off (crash_backoff); MAX_CRASHES in a row without
                                   a newly completed task -> FAILED "crash loop"
    a task completed since         the counts start again (the lost lease does not count)

The counts live on the run item (`timeouts`, `crashes`); the invocation that judges writes
them (the write that took over already paid for the lease) and its end write keeps them
unless it completed a task. A run never ends TIMED_OUT for crashes, nor FAILED for timeouts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .types import RunStatus

if TYPE_CHECKING:
    from .store.base import RunRecord

MAX_TIMEOUTS = 3
"""Timeouts (a marked task outran the invocation) in a row without progress -> TIMED_OUT."""
MAX_CRASHES = 8
"""Crashes (the process died before its deadline) in a row without progress -> FAILED.

High enough that bad luck (kills landing before the first new task several times) does not
end a healthy run; with the backoff below a true crash loop ends after about 5 minutes
plus the lease expiries."""
CRASH_BACKOFF_SECONDS = 5.0
"""The wait before the attempt after the second crash in a row; doubles after each one."""
MAX_CRASH_BACKOFF_SECONDS = 120.0
"""The longest wait between attempts of a run that keeps crashing."""


@dataclass(frozen=True)
class LostLeases:
    """The judgement of an invocation that took over lost leases.

    `changes` are the run fields to write (the counts, the mark cleared); `status` is set
    when the invocation must end at once: TIMED_OUT or FAILED with `error`, or EXECUTING
    until `resume_at` (a crash backoff).
    """

    changes: dict[str, Any]
    status: RunStatus | None = None
    error: dict[str, Any] | None = None
    resume_at: float | None = None


def crash_backoff(crashes: int) -> float:
    """Seconds to wait before the next attempt after `crashes` crashes in a row: none after
    the first (the lease's expiry was wait enough), then 5 s, 10 s, 20 s, ... up to 120 s."""
    if crashes <= 1:
        return 0.0
    return min(MAX_CRASH_BACKOFF_SECONDS, CRASH_BACKOFF_SECONDS * 2.0 ** (crashes - 2))


def judge_lost_leases(run: RunRecord, completed: int, now: float) -> LostLeases | None:
    """None when the run lost no lease since its last judgement; else what to write and do.

    `completed` is how many tasks of the run are final now; `run.progress_mark` is how many
    were when the counts were last written.
    """
    if not run.lost_leases:
        return None
    if completed > run.progress_mark:  # the dead invocation completed a task: start again
        timeouts = crashes = 0
    else:
        marked = run.overrun is not None
        timeouts = run.timeouts + (1 if marked else 0)
        crashes = run.crashes + run.lost_leases - (1 if marked else 0)
    changes: dict[str, Any] = {"lost_leases": 0, "overrun": None, "timeouts": timeouts,
                               "crashes": crashes, "progress_mark": completed}  # fmt: skip
    if timeouts >= MAX_TIMEOUTS:
        key = (run.overrun or {}).get("key")
        return LostLeases(changes, RunStatus.TIMED_OUT, timed_out_error(key, timeouts))
    if crashes >= MAX_CRASHES:
        return LostLeases(changes, RunStatus.FAILED, crash_loop_error(crashes))
    delay = 0.0 if run.overrun is not None else crash_backoff(crashes)
    if delay > 0:
        return LostLeases(changes, RunStatus.EXECUTING, resume_at=now + delay)
    return LostLeases(changes)


def timed_out_error(key: str | None, timeouts: int) -> dict[str, Any]:
    """The TIMED_OUT error of a run whose task `key` outran `timeouts` invocations in a row."""
    what = "the run function (outside any task)" if key is None else f"task {key!r}"
    return {
        "type": "TimedOut",
        "message": f"{what} was still running at the invocation's deadline {timeouts} times "
        "in a row without a task completing: a task must finish within one invocation",
        "key": key,
    }


def crash_loop_error(crashes: int) -> dict[str, Any]:
    """The FAILED error of a run whose process died `crashes` times in a row."""
    return {
        "type": "CrashLoop",
        "message": f"crash loop: the process running this run died {crashes} times in a row "
        "before its deadline (out of memory? a killed host?) without completing a task",
    }
