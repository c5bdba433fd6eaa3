"""`Port`: the narrow surface io primitives (core/io/) use to plug into an invocation.

The engine's `Invocation` implements it; an io primitive sees nothing else of the engine,
so core/io imports this module, never core/engine.py (issue 15), and a fake port is
enough to test a primitive alone (tests/core/test_port.py).

    claim(key, kind)     the key's identity under the current parent, with its record if any
    replay(key, record)  a final record's output, or its TaskFailed again (no write)
    check_budget()       before new work: Suspend near the deadline, canceled, lease lost
    before_work(claim)   check_budget and the parent's RUNNING record, awaited only when
                         either has I/O to do (a task's hot path: no coroutine per step)
    record(task)         one conditional write of a task record (record_now: the same,
                         awaitable only when it has to wait)
    suspend(at, reason)  the Suspend to raise: WAITING until `at`, or a yield
    call(fn, ...)        a store call whose failure stops the invocation, not the run
    io_call()            the scope of every io call (`with` or `async with`); in_task(task)
                         the scope of a task's fn; enter_io/leave_io the first without its
                         object, `running` what the second keeps (a task's hot path)
    write_log(...)       an `io.logger` line; clock, store and runtime as attributes
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import MISSING
from dataclasses import fields as dataclass_fields
from types import TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from .digest import sha256_hex
from .records import Record, record
from .store.base import TaskRecord
from .types import TaskStatus

if TYPE_CHECKING:
    from .clock import Clock
    from .errors import StoreError, Suspend
    from .outcome import Outcome
    from .runtime import Runtime
    from .serdes import Serdes
    from .store.base import RunRecord, Store

__all__ = [
    "Claim",
    "EndHook",
    "IoScope",
    "ParentTask",
    "Port",
    "check_key",
    "kind_family",
    "task_id_for",
]

EndHook = Callable[["Outcome"], Awaitable["Outcome"]]
"""Called after an invocation ended WAITING, with the lease released (see `after_wait`)."""

KIND_FAMILIES = {"fetch": "task"}
"""Kinds that replay alike: a fetch runs inline as a task when there is no fetch worker."""


def kind_family(kind: str) -> str:
    """The kind a record of `kind` replays as (the replay guard compares families)."""
    return KIND_FAMILIES.get(kind, kind)


def check_key(key: object) -> None:
    """A task key is a non-empty str of valid Unicode text (it is stored and shown)."""
    if not isinstance(key, str) or not key:
        raise ValueError(f"a task key must be a non-empty string, got {key!r}")
    if not key.isascii():
        try:
            key.encode()
        except UnicodeEncodeError:
            raise ValueError(f"a task key must be valid Unicode text, got {key!r}") from None


def task_id_for(run_id: str, parent_id: str | None, key: str) -> str:
    """A task's identity: its key under its parent, hashed with the run id."""
    raw = f"{run_id}\x00{parent_id or ''}\x00{key}".encode()
    return sha256_hex(raw)[:32]


class ParentTask(NamedTuple):
    """The task whose fn is running here."""

    id: str
    key: str
    attempt: int


@record
class Claim(Record):
    """A key claimed by an io call: its task id, its parent and what is recorded under it."""

    run_id: str
    key: str
    task_id: str
    parent_id: str | None
    recorded: TaskRecord | None

    def task(self, **fields: Any) -> TaskRecord:
        """A new record for this key (run, id, key and parent filled in)."""
        if not fields.keys() <= _TASK_FIELDS or not isinstance(fields.get("status"), TaskStatus):
            return TaskRecord(  # raises the usual TypeError naming the field
                run_id=self.run_id, id=self.task_id, key=self.key, parent_id=self.parent_id,
                **fields,
            )  # fmt: skip
        task = self._bare_task()
        task.__dict__.update(fields)
        return task

    def running(self, started_at: float, *, in_flight: bool = False) -> TaskRecord:
        """The RUNNING record of a first attempt with no name, icon or properties: what
        `task(...)` makes for most tasks, without its keyword checks."""
        task = self._bare_task()
        values = task.__dict__
        values["status"] = TaskStatus.RUNNING
        values["attempts"] = 1
        values["started_at"] = started_at
        values["in_flight"] = in_flight
        return task

    def _bare_task(self) -> TaskRecord:
        """A record of this key with the defaults, set on a bare instance as
        `record_from_fields` does: every task pays this, not the frozen __init__'s setattr
        per field. The caller sets the status and the rest."""
        task = object.__new__(TaskRecord)
        values = task.__dict__
        values.update(_TASK_DEFAULTS)
        values["run_id"] = self.run_id
        values["id"] = self.task_id
        values["key"] = self.key
        values["parent_id"] = self.parent_id
        return task


_TASK_DEFAULTS = {
    f.name: f.default for f in dataclass_fields(TaskRecord) if f.default is not MISSING
}
_TASK_FIELDS = frozenset(_TASK_DEFAULTS) - {"run_id", "id", "key", "parent_id"} | {"status"}


class IoScope(Protocol):
    """The scope of one io call: a context manager, sync or async."""

    def __enter__(self) -> None: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
    async def __aenter__(self) -> None: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


class Port(Protocol):
    """What an io primitive may use of the invocation it runs in."""

    runtime: Runtime
    run: RunRecord
    clock: Clock
    store: Store
    scratch: dict[str, Any]
    """Per-invocation state of io primitives, keyed by their module's name."""
    executed_count: int
    replayed_count: int
    frees_slot_while_waiting: bool
    """Set by waits on another writer (events, requests): ending WAITING frees the slot."""
    running: dict[str, TaskRecord]
    """The tasks whose fn runs now, by id: what `in_task` keeps (a task's hot path keeps it
    itself, with `scopes.current_parent`); a child's parent and an overrun are read here."""
    enter_io: Callable[[], object]
    """`io_call()` entered without its object: raises what refuses the call, else returns
    what `leave_io` takes when the call ends (a task's hot path)."""
    leave_io: Callable[[Any], None]
    """`enter_io()` undone, with what it returned."""

    def io_call(self) -> IoScope:
        """The scope of every io call: after a suspension or the end, nothing new starts."""
        ...

    def claim(self, key: str, kind: str | None = None) -> Claim:
        """Registers `key` under the current parent; DuplicateKeyError if used twice."""
        ...

    def check_kind(self, claim: Claim, kind: str) -> None:
        """The replay guard: raises NonDeterminismError if `claim` was recorded as another kind."""
        ...

    def replay(self, key: str, recorded: TaskRecord, serdes: Serdes | None = None) -> Any:
        """A final record's output (a task's decoded by `serdes`), or the same TaskFailed as
        when it failed (no write)."""
        ...

    def suspend(self, resume_at: float | None, reason: str = "wait") -> Suspend:
        """The Suspend to raise ("wait": WAITING until `resume_at`; else a yield or a stop)."""
        ...

    async def check_budget(self) -> None:
        """Before new work: Suspend near the deadline, when canceled or the lease is lost."""
        ...

    async def record_parent_running(self) -> None:
        """Writes a RUNNING record for the parent task the first time a child starts."""
        ...

    def before_work(self, claim: Claim) -> Awaitable[None] | None:
        """`check_budget` and `record_parent_running` for `claim`: raises what they raise,
        and returns what is left to await, None when there is nothing (the usual case)."""
        ...

    async def record(self, task: TaskRecord) -> TaskRecord:
        """One conditional write of a task; the record that won (this one or another's)."""
        ...

    def record_now(self, task: TaskRecord) -> TaskRecord | Awaitable[TaskRecord]:
        """`record(task)` with no coroutine where nothing in it waits; else what to await."""
        ...

    def in_task(self, task: TaskRecord) -> AbstractContextManager[None]:
        """The scope of a task's fn: io calls inside it are its children."""
        ...

    def parent(self) -> ParentTask | None:
        """The task whose fn is running in this asyncio context, None at the top level."""
        ...

    def note_task_time(self, task_id: str, seconds: float) -> None:
        """Counts a leaf task's duration into what `check_budget` reserves."""
        ...

    def after_wait(self, hook: EndHook) -> None:
        """Calls `hook(outcome)` once the invocation has ended WAITING."""
        ...

    async def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A store call whose failure stops the invocation instead of reaching user code."""
        ...

    def store_failed(self, error: StoreError) -> BaseException:
        """What to raise when a store error reaches an io primitive."""
        ...

    def write_log(self, level: str, message: str, fields: dict[str, Any]) -> None:
        """Buffers an `io.logger` line, scoped to the task it is written in."""
        ...
