"""The pytest plugin: fixtures that test a user's own jobs, with no code copied.

Registered through the ``pytest11`` entry point, so installing triggerfish is enough;
pytest loads it (``-p no:triggerfish`` turns it off). docs/testing.md shows it at work.

    triggerfish_store    a fresh SQLiteStore in the test's tmp_path
    triggerfish_clock    a SkippingClock: waits and retry backoffs cost no time
    triggerfish_client   your client (ini ``triggerfish_client = "myapp.jobs:client"``) or a
                         fresh ``Client("test")``, on that store and clock for this test
    triggerfish_use      ``triggerfish_use(client)``: the same swap for any other client
    triggerfish          a `JobRunner` over triggerfish_client: start, drive, answer, assert

A swapped client gets the test's store and clock, no dispatcher (the test drives its runs)
and ``base_url`` "http://testserver" when it had none (io.wait_for_request needs one);
every setting is put back after the test. Nothing here imports pytest-asyncio: the
fixtures are plain, the runner's methods are coroutines for ``async def`` tests.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .callbacks import CallbackAnswer
    from .client import Client
    from .clock import SkippingClock
    from .models import LogLine, Run, Task
    from .store.sqlite import SQLiteStore
    from .testing import DriveReport
    from .types import RunStatus

INI_CLIENT = "triggerfish_client"
"""The ini option naming the user's client as ``module:attribute``."""
TEST_BASE_URL = "http://testserver"
"""The base URL a swapped client without one gets, for io.wait_for_request's URLs."""
TEST_CLIENT_ID = "test"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        INI_CLIENT,
        help="your triggerfish Client as module:attribute (e.g. myapp.jobs:client); the "
        "triggerfish_client fixture swaps its store and clock for each test",
        default="",
    )


@dataclass
class DrivenRun:
    """A run as `drive` left it: the `Run` (tasks, logs) and the `DriveReport`."""

    run: Run
    report: DriveReport

    @property
    def id(self) -> str:
        return self.run.id

    @property
    def status(self) -> RunStatus:
        return self.run.status

    @property
    def output(self) -> Any:
        return self.run.output

    @property
    def error(self) -> dict[str, Any] | None:
        return self.run.error

    @property
    def waiting_for(self) -> list[str]:
        """Keys of the outside waits (request, event) the run stopped at."""
        return self.report.waiting_for

    @property
    def logs(self) -> list[LogLine]:
        return self.run.logs

    @property
    def log_messages(self) -> list[str]:
        """The messages of `io.logger` lines, in order."""
        return [line.message for line in self.run.logs]

    def task(self, key: str) -> Task:
        """The first task with this key, depth first (``"parent/child"`` picks a nested
        one by its parents' keys); KeyError naming the keys the run has."""
        tasks = list(self.run.iter_tasks())
        by_id = {task.id: task for task in tasks}
        for task in tasks:
            if task.key == key or _path(task, by_id) == key:
                return task
        known = sorted({task.key for task in tasks})
        raise KeyError(f"run {self.run.id} has no task {key!r}; its keys: {known}")


def _path(task: Task, by_id: dict[str, Task]) -> str:
    """The task's keys from the top of the tree, joined by "/"."""
    keys = [task.key]
    parent = by_id.get(task.parent) if task.parent else None
    while parent is not None:
        keys.append(parent.key)
        parent = by_id.get(parent.parent) if parent.parent else None
    return "/".join(reversed(keys))


@dataclass
class JobRunner:
    """Starts runs of a client's jobs and drives them with its SkippingClock.

    ``done = await triggerfish.invoke("signup", {"email": "ada@example.com"})``, then
    assert on ``done.status``, ``done.output``, ``done.task("mail").attempts``,
    ``done.log_messages``.
    """

    client: Client
    budget_seconds: float | None = None
    """Each invocation's deadline, in (clock) seconds; None: no deadline."""
    started: list[str] = field(default_factory=list)

    async def invoke(self, job_id: str, payload: Any = None, **options: Any) -> DrivenRun:
        """`client.invoke`, then `drive` the run (see `drive`)."""
        run = await self.client.invoke(job_id, payload, **options)
        self.started.append(run.id)
        return await self.drive(run.id)

    async def send_event(self, name: str, payload: Any = None, **options: Any) -> list[DrivenRun]:
        """`client.send_event`, then drive each run it started (runs it woke: `drive` them)."""
        event = await self.client.send_event(name, payload, **options)
        self.started.extend(event.run_ids)
        return [await self.drive(run_id) for run_id in event.run_ids]

    async def drive(self, run_id: str, *, skip_timeouts: bool = False) -> DrivenRun:
        """Runs it to its end, or until it waits for an outside answer (see core/testing.py)."""
        from .testing import drive

        report = await drive(self.client, run_id, budget_seconds=self.budget_seconds,
                             skip_timeouts=skip_timeouts)  # fmt: skip
        return DrivenRun(await self.client.get_run(run_id), report)

    async def answer_request(self, run_id: str, key: str, body: Any) -> DrivenRun:
        """Answers the run's `io.wait_for_request(key)` with `body`, then drives it on."""
        from .testing import answer_request

        answer: CallbackAnswer = await answer_request(self.client, run_id, key, body)
        if answer.value != "resumed":
            raise AssertionError(f"request wait {key!r} of run {run_id} was {answer.value}")
        return await self.drive(run_id)


class ClientSwap:
    """Puts a test's store and clock into clients, and their own back afterwards."""

    def __init__(self, store: SQLiteStore, clock: SkippingClock) -> None:
        self.store = store
        self.clock = clock
        self.saved: list[tuple[Client, dict[str, Any]]] = []

    def use(self, client: Client) -> Client:
        """`client` on the test's store and clock, without dispatcher; returns it."""
        names = ("store", "clock", "dispatcher", "base_url")
        self.saved.append((client, {name: getattr(client, name) for name in names}))
        client.store, client.clock, client.dispatcher = self.store, self.clock, None
        if client.base_url is None:
            client.base_url = TEST_BASE_URL
        return client

    def restore(self) -> None:
        for client, settings in reversed(self.saved):
            for name, value in settings.items():
                setattr(client, name, value)
        self.saved.clear()


def load_client(target: str) -> Client:
    """The client named ``module:attribute`` by the ini option."""
    from triggerfish.core import Client  # the package: nothing below client.py imports it

    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise pytest.UsageError(f"{INI_CLIENT} must be module:attribute, got {target!r}")
    client = getattr(importlib.import_module(module_name), attribute, None)
    if not isinstance(client, Client):
        raise pytest.UsageError(
            f"{INI_CLIENT} = {target!r} is not a triggerfish Client ({type(client).__name__})"
        )
    return client


@pytest.fixture
def triggerfish_store(tmp_path: Path) -> Iterator[SQLiteStore]:
    """A fresh SQLite store in the test's tmp_path (override it for another store)."""
    from .store.sqlite import SQLiteStore

    store = SQLiteStore(tmp_path / "triggerfish.db")
    yield store
    store.close()


@pytest.fixture
def triggerfish_clock() -> SkippingClock:
    """A SkippingClock: `drive` jumps over waits and backoffs instead of sleeping."""
    from .clock import SkippingClock

    return SkippingClock()


@pytest.fixture
def triggerfish_use(
    triggerfish_store: SQLiteStore, triggerfish_clock: SkippingClock
) -> Iterator[Callable[[Client], Client]]:
    """``triggerfish_use(client)`` swaps the test's store and clock into `client` (undone
    after the test) and returns it: for clients built in your own fixtures."""
    swap = ClientSwap(triggerfish_store, triggerfish_clock)
    yield swap.use
    swap.restore()


@pytest.fixture
def triggerfish_client(
    request: pytest.FixtureRequest,
    triggerfish_use: Callable[[Client], Client],
    triggerfish_store: SQLiteStore,
    triggerfish_clock: SkippingClock,
) -> Client:
    """Your client (ini ``triggerfish_client``) or a fresh ``Client("test")``, on the
    test's store and SkippingClock, without dispatcher."""
    from triggerfish.core import Client  # the package: nothing below client.py imports it

    target = str(request.config.getini(INI_CLIENT) or "")
    if target:
        return triggerfish_use(load_client(target))
    return Client(TEST_CLIENT_ID, store=triggerfish_store, clock=triggerfish_clock,
                  base_url=TEST_BASE_URL)  # fmt: skip


@pytest.fixture
def triggerfish(triggerfish_client: Client) -> JobRunner:
    """A `JobRunner` over `triggerfish_client`: ``await triggerfish.invoke(job_id, payload)``."""
    return JobRunner(triggerfish_client)
