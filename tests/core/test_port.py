"""io primitives against a fake port: no engine, no store, only what `Port` promises.

The fake records writes in a dict and turns `suspend` into the Suspend the engine would
see, so each test reads as what a primitive asks of the invocation it runs in.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import pytest
from triggerfish.core.errors import DuplicateKeyError, Suspend, TaskFailed
from triggerfish.core.io import tasks, values, waits
from triggerfish.core.port import Claim, EndHook, ParentTask, Port, task_id_for
from triggerfish.core.retry import RetryPolicy
from triggerfish.core.scopes import current_parent
from triggerfish.core.serialize import load_json
from triggerfish.core.store.base import TaskRecord
from triggerfish.core.types import TaskStatus


class FakeClock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


class FakePort:
    """A port over a dict of records: writes land there, suspensions are raised as is."""

    def __init__(self, recorded: dict[str, TaskRecord] | None = None) -> None:
        self.run = type("Run", (), {"id": "run-1", "job_id": "job"})()
        self.runtime = type("Runtime", (), {"serdes": None, "tracer": None})()
        self.clock = FakeClock()
        self.records: dict[str, TaskRecord] = dict(recorded or {})
        self.writes: list[TaskRecord] = []
        self.scratch: dict[str, Any] = {}
        self.executed_count = 0
        self.replayed_count = 0
        self.frees_slot_while_waiting = False
        self.budget_checks = 0
        self._seen: set[str] = set()
        self.ended = False
        self.io_calls_open = 0
        self.running: dict[str, TaskRecord] = {}
        self.enter_io = self._enter_io
        self.leave_io = self._leave_io

    def io_call(self) -> Any:
        return nullcontext()

    def _enter_io(self) -> object:
        if self.ended:
            raise Suspend(None, reason="ended")
        self.io_calls_open += 1
        return "entered"

    def _leave_io(self, entered: object) -> None:
        assert entered == "entered"
        self.io_calls_open -= 1

    def claim(self, key: str, kind: str | None = None) -> Claim:
        task_id = task_id_for(self.run.id, None, key)
        if task_id in self._seen:
            raise DuplicateKeyError(key, None)
        self._seen.add(task_id)
        return Claim(self.run.id, key, task_id, None, self.records.get(task_id))

    def check_kind(self, claim: Claim, kind: str) -> None:
        pass

    def replay(self, key: str, recorded: TaskRecord, serdes: Any = None) -> Any:
        self.replayed_count += 1
        if recorded.status is TaskStatus.COMPLETED:
            return load_json(recorded.output_json) if serdes is None else serdes.deserialize(
                recorded.output_json)  # fmt: skip
        raise TaskFailed(key, recorded.error or {})

    def suspend(self, resume_at: float | None, reason: str = "wait") -> Suspend:
        return Suspend(resume_at, reason=reason)

    async def check_budget(self) -> None:
        self.budget_checks += 1

    async def record_parent_running(self) -> None:
        pass

    def before_work(self, claim: Claim) -> Any:
        self.budget_checks += 1
        return None

    async def record(self, task: TaskRecord) -> TaskRecord:
        self.writes.append(task)
        self.records[task.id] = task
        return task

    def record_now(self, task: TaskRecord) -> Any:
        return self.record(task)

    def in_task(self, task: TaskRecord) -> AbstractContextManager[None]:
        return nullcontext()

    def parent(self) -> ParentTask | None:
        return None

    def note_task_time(self, task_id: str, seconds: float) -> None:
        pass

    def after_wait(self, hook: EndHook) -> None:
        pass

    async def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    def store_failed(self, error: Exception) -> BaseException:
        return error

    def write_log(self, level: str, message: str, fields: dict[str, Any]) -> None:
        pass


def _port(recorded: dict[str, TaskRecord] | None = None) -> FakePort:
    return FakePort(recorded)


async def _run_task(port: FakePort, key: str, fn: Callable[[], Any], **options: Any) -> Any:
    inv: Port = port  # what the engine's Invocation is to io primitives
    return await tasks.run_task(inv, key, fn, name=None, retry=options.get("retry"), icon=None,
                                properties=None)  # fmt: skip


async def test_a_task_runs_once_and_its_output_is_one_write() -> None:
    port = _port()
    assert await _run_task(port, "add", lambda: 2 + 3) == 5
    (write,) = port.writes
    assert (write.key, write.status, write.output_json) == ("add", TaskStatus.COMPLETED, "5")
    assert port.executed_count == 1 and port.budget_checks == 1


async def test_a_recorded_task_is_replayed_without_calling_fn_or_writing() -> None:
    first = _port()
    await _run_task(first, "greet", lambda: {"hello": "ada"})
    replaying = _port(first.records)

    def must_not_run() -> None:
        raise AssertionError("a recorded task ran again")

    assert await _run_task(replaying, "greet", must_not_run) == {"hello": "ada"}
    assert replaying.writes == [] and replaying.replayed_count == 1


async def test_a_failing_task_with_retries_left_records_the_attempt_and_suspends() -> None:
    port = _port()

    def flaky() -> None:
        raise ConnectionError("refused")

    with pytest.raises(Suspend) as stop:
        await _run_task(port, "call", flaky, retry=RetryPolicy(limit=3, randomize=False))
    (write,) = port.writes
    assert write.status is TaskStatus.WAITING and write.error["type"] == "ConnectionError"
    assert stop.value.resume_at == write.resume_at == port.clock.time() + 1.0


async def test_a_key_used_twice_is_refused_by_the_port() -> None:
    port = _port()
    await _run_task(port, "once", lambda: 1)
    with pytest.raises(DuplicateKeyError):
        await _run_task(port, "once", lambda: 2)


async def test_the_plain_path_runs_a_first_attempt_inside_its_io_call_and_task_scope() -> None:
    port = _port()
    seen: list[Any] = []

    def step() -> int:
        parent = current_parent.get()
        seen.append((port.io_calls_open, parent and parent.key, list(port.running)))
        return 7

    assert await tasks.run_plain_task(port, "seven", step) == 7
    task_id = task_id_for("run-1", None, "seven")
    assert seen == [(1, "seven", [task_id])]  # inside the io call, itself the parent
    (write,) = port.writes
    assert (write.key, write.status, write.attempts, write.output_json) == (
        "seven", TaskStatus.COMPLETED, 1, "7")  # fmt: skip
    assert port.io_calls_open == 0 and port.running == {} and current_parent.get() is None
    assert port.budget_checks == 1


async def test_the_plain_path_replays_a_recorded_task_through_the_general_one() -> None:
    first = _port()
    await tasks.run_plain_task(first, "greet", lambda: {"hello": "ada"})
    replaying = _port(first.records)

    def must_not_run() -> None:
        raise AssertionError("a recorded task ran again")

    assert await tasks.run_plain_task(replaying, "greet", must_not_run) == {"hello": "ada"}
    assert replaying.writes == [] and replaying.io_calls_open == 0


async def test_the_plain_path_records_a_failure_for_good_and_leaves_its_scopes() -> None:
    port = _port()

    def broken() -> None:
        raise ValueError("no such user")

    with pytest.raises(TaskFailed, match="no such user"):
        await tasks.run_plain_task(port, "lookup", broken)
    (write,) = port.writes
    assert write.status is TaskStatus.ERRORED and write.error["type"] == "ValueError"
    assert port.io_calls_open == 0 and port.running == {} and current_parent.get() is None


async def test_the_plain_path_gives_a_fn_that_asks_for_it_its_task_context() -> None:
    port = _port()
    got = await tasks.run_plain_task(port, "ctx", lambda context: (context.key, context.attempt))
    assert got == ("ctx", 1)


async def test_the_plain_path_starts_nothing_once_the_io_calls_are_refused() -> None:
    port = _port()
    port.ended = True
    with pytest.raises(Suspend):
        await tasks.run_plain_task(port, "late", lambda: pytest.fail("ran after the end"))
    assert port.writes == [] and port.budget_checks == 0


async def test_a_wait_records_its_resume_time_and_suspends_until_then() -> None:
    port = _port()
    with pytest.raises(Suspend) as stop:
        await waits.wait(port, "nap", 60, until=None)
    (write,) = port.writes
    assert (write.kind, write.status) == ("wait", TaskStatus.WAITING)
    assert stop.value.resume_at == write.resume_at == port.clock.time() + 60


async def test_a_wait_past_its_time_completes_on_the_next_call() -> None:
    port = _port()
    with pytest.raises(Suspend):
        await waits.wait(port, "nap", 60, until=None)
    later = _port(port.records)
    later.clock.now += 61
    await waits.wait(later, "nap", 60, until=None)
    (write,) = later.writes
    assert write.status is TaskStatus.COMPLETED


async def test_a_random_value_is_recorded_once_and_replayed_the_same() -> None:
    port = _port()
    value = await values.random(port, "pick", min=0, max=10, round=True)
    replaying = _port(port.records)
    again = await values.random(replaying, "pick", min=0, max=10, round=True)
    assert again == value and 0 <= value <= 10
