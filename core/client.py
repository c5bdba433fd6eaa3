"""`Client`: defines jobs, starts runs, reads them back and executes invocations.

The user's facade, over a `Runtime` (core/runtime.py) it builds and owns. Each group of
methods is a few lines here that delegate to a module taking the runtime:

    define_job                          job_options.py
    from_env                            env_config.py
    send_event, cancel_event            events.py
    invoke                              starts.py
    webhook_jobs, start_webhook_runs    webhooks.py
    get_run, list_runs, cancel_run      runs.py
    cancel_runs_for_event, get_run_statuses   event_runs.py
    retry_run                           retries.py
    execute                             engine.py
    tick, next_fire_times               sweeper.py
    the settings (store, clock, ...)    client_settings.py  (ClientSettings, a base class)
    pause_job, resume_job, cancel_runs, retry_runs, create_schedule, list_schedules, ...
                                        client_fleet.py (FleetOperations, a base class,
                                        over pauses.py, bulk.py, schedules.py)
    set_connection, list_connections    connections.py

A new group of methods lands the same way: its own module, functions of the runtime, and
thin methods here (or, for a large group, in a base class beside this module, as
client_fleet.py) with the signatures DESIGN.md pins. No module below this one imports it.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from . import engine, env_config, job_options, runs, sweeper
from .checks import check_run_id, is_storable_id
from .client_fleet import FleetOperations
from .client_settings import ClientSettings, check_store, checked_yield_margin
from .clock import Clock, SystemClock
from .errors import ConfigError, EventNotFound, JobNotFound
from .flow import ConcurrencyLimit, Debounce, KeyFunction, RateLimit
from .ids import ID_PATTERN, check_id
from .jobs import EndHook, Job, RunFunction
from .outcome import Outcome
from .runs import (
    MAX_LIST_LIMIT,  # noqa: F401 - still importable from here
    build_run,
)
from .runtime import Runtime
from .serdes import check_serdes
from .settings import DEFAULT_CLIENT_ID, ENV_CLIENT_ID
from .starts import (
    MAX_PAYLOAD_BYTES,  # noqa: F401 - still importable from here
    check_priority,
    create_run,
    new_run_id,
    payload_json,
)
from .store.base import Store
from .triggers import Trigger, WebhookTrigger
from .types import RunStatus
from .usage import Prices

if TYPE_CHECKING:
    from .dispatch.base import Dispatcher
    from .models import Event, Run, RunList
    from .serdes import Serdes

RUN_ID_PATTERN = re.compile(ID_PATTERN)
"""Run ids a caller may choose: the rule of core/ids.py, the same as event ids."""
DEFAULT_RETENTION = timedelta(days=30)
"""Finished runs (tasks, logs, blobs) are deleted this long after they end; None keeps them."""


class Client(ClientSettings, FleetOperations):
    """The entry point: holds the jobs, the store and the dispatcher.

    ``client = Client("acme", store=SQLiteStore("runs.db"))``
    """

    def __init__(
        self,
        id: str,
        *,
        store: Store,
        dispatcher: Dispatcher | None = None,
        environment: str = "dev",
        organization: str | None = None,
        auth_resolvers: Mapping[str, Any] | None = None,
        api_key: str | None = None,
        yield_margin: float | timedelta | None = None,
        clock: Clock | None = None,
        prices: Prices | None = None,
        retention: timedelta | None = DEFAULT_RETENTION,
        base_url: str | None = None,
        serdes: Serdes | None = None,
        connection_key: str | None = None,
    ) -> None:
        if not id or not isinstance(id, str):
            raise ConfigError(f"Client id must be a non-empty string, got {id!r}")
        check_store(store)
        yield_margin = checked_yield_margin(yield_margin)
        self.id = id
        self.api_key = api_key
        self.runtime = Runtime(
            store=store,
            clock=SystemClock(),
            environment=environment,
            organization=organization,
            auth_resolvers=dict(auth_resolvers or {}),
            yield_margin=yield_margin,
            prices=prices,
        )
        """What the engine and the io primitives see of this client (core/runtime.py)."""
        # Through the setters: one check for a value given here or set later (issue 21.5).
        if clock is not None:
            self.clock = clock
        self.retention = retention
        self.base_url = base_url
        self.prices = prices
        check_serdes(serdes, field="Client serdes")
        self.runtime.serdes = serdes
        if connection_key is not None:
            from .sealing import parse_key  # no cryptography import: that waits for first use

            self.runtime.connection_key = parse_key(connection_key)
        self.dispatcher = dispatcher
        bind = getattr(dispatcher, "bind", None)
        if callable(bind):
            bind(self)

    def __repr__(self) -> str:
        key = "None" if self.api_key is None else "'****'"
        return f"Client(id={self.id!r}, store={self.store!r}, api_key={key})"

    @classmethod
    def from_env(
        cls, id: str | None = None, *, environ: Mapping[str, str] | None = None, **options: Any
    ) -> Client:
        """A client configured from `TRIGGERFISH_*` variables (see `settings`).

        DynamoDB (and S3, SQS) when TRIGGERFISH_TABLE is set, else SQLite.
        """
        env = os.environ if environ is None else environ
        store = env_config.store_from_env(env)
        options = env_config.options_from_env(env, options)
        client = cls(id or env.get(ENV_CLIENT_ID) or DEFAULT_CLIENT_ID, store=store, **options)
        env_config.instrument_from_env(client, env)
        return client

    # -- jobs ---------------------------------------------------------------------------

    def define_job(
        self,
        id: str,
        *,
        trigger: Trigger,
        name: str | None = None,
        version: str = "0.0.1",
        concurrency_limit: int | ConcurrencyLimit | None = None,
        max_duration: float | timedelta | None = None,
        integrations: Mapping[str, Any] | None = None,
        enabled: bool = True,
        run: RunFunction | None = None,
        retention: timedelta | None | str = "client",
        on_success: EndHook | None = None,
        on_failure: EndHook | None = None,
        concurrency_key: KeyFunction | None = None,
        rate_limit: RateLimit | None = None,
        debounce: Debounce | None = None,
    ) -> Any:
        """Defines a job; use as a decorator on `async def run(payload, io, ctx)`, or pass `run=`.

        Returns the `Job` (with `run=`) or a decorator that returns it. `retention`: how
        long its finished runs are kept (None: forever); by default the client's.
        `concurrency_limit` is a number of slots or a shared limit
        (`define_concurrency_limit`); `concurrency_key`, `rate_limit` and `debounce` are
        flow control (core/flow.py).
        """
        return job_options.define_job(
            self.jobs, id, trigger=trigger, name=name, version=version,
            concurrency_limit=concurrency_limit, max_duration=max_duration,
            integrations=integrations, enabled=enabled, run=run, retention=retention,
            on_success=on_success, on_failure=on_failure, concurrency_key=concurrency_key,
            rate_limit=rate_limit, debounce=debounce,
        )  # fmt: skip

    def define_concurrency_limit(self, id: str, limit: int) -> ConcurrencyLimit:
        """A concurrency limit several jobs share: `define_job(..., concurrency_limit=<it>)`.

        Defining the same id again with the same limit returns it; another limit is a
        ConfigError.
        """
        made = ConcurrencyLimit(id=id, limit=limit)
        known = self.runtime.concurrency_limits.setdefault(made.id, made)
        if known != made:
            raise ConfigError(f"concurrency limit {id!r} is already defined with limit "
                              f"{known.limit}, got {limit!r}")  # fmt: skip
        return known

    def get_job(self, job_id: str) -> Job:
        """The job with this id; JobNotFound otherwise."""
        try:
            return self.jobs[job_id]
        except KeyError:
            raise JobNotFound(job_id) from None

    def webhook_job(self, trigger_id: str) -> Job:
        """The first job whose webhook trigger has this id; JobNotFound otherwise."""
        for job in self.jobs.values():
            if isinstance(job.trigger, WebhookTrigger) and job.trigger.id == trigger_id:
                return job
        raise JobNotFound(trigger_id)

    def webhook_jobs(self, trigger_id: str) -> list[Job]:
        """Every job whose webhook trigger has this id, in definition order (may be none)."""
        from .webhooks import webhook_jobs

        return webhook_jobs(self.runtime, trigger_id)

    def yield_margin_for(self, budget_seconds: float | None) -> float:
        """The yield margin for an invocation with this budget (None: no deadline)."""
        return self.runtime.yield_margin_for(budget_seconds)

    # -- starting runs ------------------------------------------------------------------

    async def send_event(
        self,
        name: str,
        payload: Any = None,
        *,
        id: str | None = None,
        timestamp: datetime | None = None,
        deliver_at: datetime | None = None,
        deliver_after: float | timedelta | None = None,
        priority: int = 0,
        context: Mapping[str, Any] | None = None,
    ) -> Event:
        """Records an event, starts a run of every job it triggers and resolves the runs
        waiting on it (`io.wait_for_event`); idempotent on `id`.

        `deliver_at` (an aware datetime) or `deliver_after` (seconds or a timedelta, at most
        365 days) delays it: stored pending, delivered by the sweeper's tick at that time.
        `priority`: its runs leave their queues before those of lower priority.
        `context` (a JSON object) is `ctx.event.context` in the runs it starts.
        `id` follows the one rule for ids (core/ids.py), as over HTTP and in the CLI.
        """
        if id is not None:
            check_id(id, field="send_event id")
        from . import events  # events, schedules, retries: off a worker's cold start

        return await events.send_event(
            self.runtime, name, payload, id=id, timestamp=timestamp, deliver_at=deliver_at,
            deliver_after=deliver_after, priority=priority, context=context,
        )  # fmt: skip

    async def cancel_event(self, id: str) -> bool:
        """Cancels a delayed event not yet delivered; False when it already was (or was
        canceled). Raises EventNotFound for an unknown id."""
        if not is_storable_id(id):
            raise EventNotFound(id)
        from . import events

        return await events.cancel_event(self.runtime, id)

    async def invoke(
        self, job_id: str, payload: Any = None, *, id: str | None = None, priority: int = 0
    ) -> Run:
        """Starts a run of `job_id` with `payload`; an invalid payload makes an INVALID_PAYLOAD run.

        `priority`: the run leaves its job's queues before runs of lower priority. A
        debounced job returns the run this start joined.
        """
        job = self.get_job(job_id)
        priority = check_priority(priority, field="invoke priority")
        if not job.enabled:
            raise ConfigError(f"job {job_id!r} is disabled")
        if id is not None:
            check_id(id, field="invoke id")
        run_id = id or new_run_id()
        text = payload_json(payload)
        if job.debounce is None:
            record = await create_run(self.runtime, job, text, run_id=run_id, priority=priority)
            return build_run(record, None)
        from .flow_starts import start_job_run

        joined = await start_job_run(self.runtime, job, text, run_id=run_id, priority=priority)
        return await self.get_run(joined, tasks=False)

    async def start_webhook_runs(
        self,
        trigger_id: str,
        payload: Any,
        *,
        delivery_id: str,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, Any] | None = None,
        job_ids: Collection[str] | None = None,
    ) -> list[Run]:
        """Starts a run of every enabled job on this webhook id whose filter matches the
        delivery (of `job_ids` only, when given); idempotent on `delivery_id`."""
        from . import webhooks

        records = await webhooks.start_webhook_runs(
            self.runtime, trigger_id, payload, delivery_id=delivery_id, headers=headers,
            query=query, job_ids=job_ids,
        )  # fmt: skip
        return [build_run(record, None) for record in records]

    # -- reading and steering runs ------------------------------------------------------

    async def get_run(self, run_id: str, *, tasks: bool = True) -> Run:
        """The run with its task tree and logs (without them when `tasks` is False)."""
        return await runs.get_run(self.runtime, run_id, tasks=tasks)

    async def list_runs(
        self,
        job_id: str | None = None,
        status: RunStatus | str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> RunList:
        """One page of runs, newest first, optionally of one job and one status."""
        return await runs.list_runs(self.runtime, job_id, status, limit, cursor)

    async def cancel_run(self, run_id: str) -> Run:
        """Cancels a live run (no new task starts); a finished run is returned unchanged."""
        return await runs.cancel_run(self.runtime, run_id)

    async def cancel_runs_for_event(self, event_id: str) -> list[str]:
        """Cancels every unfinished run the event started; returns the ids it canceled.

        Raises EventNotFound for an unknown id. v2: `client.cancelRunsForEvent(id)`.
        """
        from . import event_runs

        return await event_runs.cancel_runs_for_event(self.runtime, event_id)

    async def get_run_statuses(self, run_id: str) -> dict[str, Any]:
        """``{"run": {"id", "status", "output"}, "statuses": [...]}``: the run's statuses
        (`io.create_status`) with its state, as JSON data; RunNotFound for an unknown id."""
        from . import event_runs

        return await event_runs.get_run_statuses(self.runtime, run_id)

    async def retry_run(self, run_id: str) -> Run:
        """Continues a FAILED or TIMED_OUT run: completed tasks kept, failed ones tried afresh.

        Any other status raises `RunNotRetryable`. The run is PENDING (QUEUED later if its
        job's concurrency is full) and handed to the dispatcher; see core/retries.py.
        """
        check_run_id(run_id)
        from . import retries

        record, history = await retries.retry_run(self.runtime, run_id)
        return build_run(record, history)

    async def execute(self, run_id: str, *, deadline: float | None = None) -> Outcome:
        """One invocation of the resume protocol; returns before `deadline` (epoch seconds)."""
        if deadline is not None and (
            isinstance(deadline, bool)
            or not isinstance(deadline, int | float)
            or math.isnan(deadline)
        ):
            raise ConfigError(
                f"deadline must be a time.time() timestamp (seconds) or None, got {deadline!r}"
            )
        check_run_id(run_id)
        return await engine.execute(self.runtime, run_id, deadline)

    async def tick(self, *, now: float | None = None) -> list[str]:
        """The sweeper and the schedules: re-dispatch due runs, fire cron and interval slots.

        Returns the ids of the runs it dispatched or started.
        """
        return await sweeper.tick(self.runtime, self.clock.time() if now is None else now)

    def next_fire_times(
        self, *, count: int = 5, now: float | None = None
    ) -> list[dict[str, Any]]:
        """Each job's declared cron or interval trigger and its next `count` fire times
        (ISO 8601, UTC); not async. Before issue 19 this was `list_schedules`, which now
        lists every schedule (declared and stored) as `Schedule`s."""
        now = self.clock.time() if now is None else now
        return sweeper.next_fire_times(self.runtime, count=count, now=now)

    # -- fleet operations (issue 19) ----------------------------------------------------

    async def set_connection(self, name: str, credentials: Any) -> list[str]:
        """Stores a connection's credentials (JSON data), sealed with `connection_key`, and
        wakes the runs WAITING_ON_CONNECTIONS on it; returns their ids.

        Setting it again replaces it. ConfigError (nothing written) for a bad name, no
        credentials, or no `connection_key`; see core/connections.py.
        """
        from . import connections

        return await connections.set_connection(self.runtime, name, credentials)

    async def list_connections(self) -> list[dict[str, Any]]:
        """Each connection the jobs declare or the store holds: ``{"name", "set",
        "updated_at", "integrations"}``, never the credentials."""
        from . import connections

        return await connections.list_connections(self.runtime)

