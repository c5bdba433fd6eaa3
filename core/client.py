"""`Client`: defines jobs, starts runs, reads them back and executes invocations."""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from . import ends, engine
from .clock import Clock, SystemClock
from .errors import ConfigError, EventNotFound, JobNotFound, RunNotFound
from .jobs import EndHook, Job, RunFunction, is_sync_function
from .names import check_name
from .outcome import Outcome
from .runtime import Runtime
from .serialize import load_json
from .settings import (
    DEFAULT_CLIENT_ID,
    DEFAULT_SQLITE_PATH,
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_BUCKET,
    ENV_CLIENT_ID,
    ENV_DB,
    ENV_ENDPOINT_URL,
    ENV_ENVIRONMENT,
    ENV_QUEUE_URL,
    ENV_REGION,
    ENV_SHARDS,
    ENV_TABLE,
    ENV_TABLE_NAME,
    ENV_YIELD_MARGIN,
)
from .slots import release_slot, sweep_queues_if_due
from .starts import (
    MAX_PAYLOAD_BYTES,  # noqa: F401 - still importable from here
    create_run,
    derived_id,
    new_run_id,
    payload_json,
)
from .store.base import Store
from .store.calls import call_store
from .times import checked_seconds, utc
from .triggers import CronTrigger, IntervalTrigger, Trigger, WebhookTrigger
from .types import RunStatus
from .usage import ENV_LAMBDA_MEMORY, Prices, lambda_prices, retention_seconds

ENV_OTEL = "TRIGGERFISH_OTEL"
"""`Client.from_env` turns OpenTelemetry tracing on when this is 1, true or yes."""

if TYPE_CHECKING:
    from .dispatch.base import Dispatcher
    from .lease import LeaseKeeper
    from .models import Event, Run, RunList
    from .store.base import History, RunRecord


def build_run(record: RunRecord, history: History | None) -> Run:
    """`views.build_run`, imported on first use: the API models stay off a worker's path."""
    from .views import build_run as build

    return build(record, history)

logger = logging.getLogger(__name__)

MAX_LIST_LIMIT = 1000
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")
"""Run ids a caller may choose: safe in URLs and store keys as they are."""
SCHEDULE_CATCH_UP_SECONDS = 300.0
"""A scheduled slot older than this at a tick is skipped, not fired late."""
DEFAULT_RETENTION = timedelta(days=30)
"""Finished runs (tasks, logs, blobs) are deleted this long after they end; None keeps them."""
SWEEP_BATCH = 100
PURGE_INTERVAL_SECONDS = 60.0
"""The sweeper deletes expired runs at most this often (each purge reads every shard)."""
PREVIOUS_RUN_SCAN = 20
"""How many of a job's newest runs a tick reads to find the previous scheduled run's `ts`."""


class Client:
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
    ) -> None:
        if not id or not isinstance(id, str):
            raise ConfigError(f"Client id must be a non-empty string, got {id!r}")
        if not all(callable(getattr(store, name, None)) for name in ("get_run", "create_run")):
            raise ConfigError(
                f"Client store must be a Store (SQLiteStore(path), DynamoDBStore(table)), got "
                f"{store!r}"
            )
        if isinstance(yield_margin, int | float) and yield_margin < 0:
            raise ConfigError(f"yield_margin must be 0 or more seconds, got {yield_margin}")
        if yield_margin is not None:
            try:
                yield_margin = checked_seconds(yield_margin, field="yield_margin")
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        self.id = id
        self.api_key = api_key
        self.runtime = Runtime(
            store=store,
            clock=clock or SystemClock(),
            environment=environment,
            organization=organization,
            auth_resolvers=dict(auth_resolvers or {}),
            yield_margin=yield_margin,
            prices=prices,
        )
        """What the engine and the io primitives see of this client (core/runtime.py)."""
        self.retention = retention
        self._last_purge = float("-inf")
        if base_url is not None and not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"base_url must start with http:// or https://, got {base_url!r}")
        self.runtime.base_url = base_url
        self.dispatcher = dispatcher
        bind = getattr(dispatcher, "bind", None)
        if callable(bind):
            bind(self)

    # -- the runtime's parts, readable and settable here --------------------------------

    @property
    def store(self) -> Store:
        """Where runs, tasks, logs and events are kept."""
        return self.runtime.store

    @store.setter
    def store(self, store: Store) -> None:
        self.runtime.store = store

    @property
    def clock(self) -> Clock:
        """The clock every deadline and due time is read from."""
        return self.runtime.clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        self.runtime.clock = clock

    @property
    def dispatcher(self) -> Dispatcher | None:
        """Arranges "run R again at T"; None: the caller drives `execute` itself."""
        return self.runtime.dispatcher

    @dispatcher.setter
    def dispatcher(self, dispatcher: Dispatcher | None) -> None:
        self.runtime.dispatcher = dispatcher

    @property
    def environment(self) -> str:
        """The environment runs are started in (`ctx.environment`)."""
        return self.runtime.environment

    @environment.setter
    def environment(self, environment: str) -> None:
        self.runtime.environment = environment

    @property
    def organization(self) -> str | None:
        """`ctx.organization` of every run."""
        return self.runtime.organization

    @organization.setter
    def organization(self, organization: str | None) -> None:
        self.runtime.organization = organization

    @property
    def auth_resolvers(self) -> dict[str, Any]:
        """Integration name -> ``resolver(ctx, integration)`` (see gates.py)."""
        return self.runtime.auth_resolvers

    @auth_resolvers.setter
    def auth_resolvers(self, resolvers: dict[str, Any]) -> None:
        self.runtime.auth_resolvers = resolvers

    @property
    def yield_margin(self) -> float | None:
        """Seconds before a deadline to stop starting work (None: the default rule)."""
        return self.runtime.yield_margin

    @yield_margin.setter
    def yield_margin(self, yield_margin: float | None) -> None:
        self.runtime.yield_margin = yield_margin

    @property
    def retention(self) -> timedelta | None:
        """How long a finished run is kept (a job's own `retention` wins); None: forever."""
        seconds = self.runtime.retention_seconds
        return None if seconds is None else timedelta(seconds=seconds)

    @retention.setter
    def retention(self, retention: timedelta | None) -> None:
        self.runtime.retention_seconds = retention_seconds(retention, "Client retention")

    @property
    def jobs(self) -> dict[str, Job]:
        """The defined jobs by id."""
        return self.runtime.jobs

    @property
    def active_invocations(self) -> dict[str, LeaseKeeper]:
        """Runs this process is executing now (one invocation per run per process)."""
        return self.runtime.active_invocations

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
        region = env.get(ENV_REGION) or None
        endpoint_url = env.get(ENV_ENDPOINT_URL) or None
        store: Store
        table = env.get(ENV_TABLE) or env.get(ENV_TABLE_NAME)
        if table:
            from .store.dynamodb import DEFAULT_SHARDS, DynamoDBStore

            store = DynamoDBStore(
                table,
                endpoint_url=endpoint_url,
                region=region,
                bucket=env.get(ENV_BUCKET) or None,
                shards=_shards_from(env.get(ENV_SHARDS), DEFAULT_SHARDS),
            )
        else:
            from .store.sqlite import SQLiteStore

            store = SQLiteStore(env.get(ENV_DB) or DEFAULT_SQLITE_PATH)
        if env.get(ENV_QUEUE_URL) and "dispatcher" not in options:
            from .dispatch.sqs import SQSDispatcher

            options["dispatcher"] = SQSDispatcher(
                env[ENV_QUEUE_URL], endpoint_url=endpoint_url, region=region
            )
        margin = env.get(ENV_YIELD_MARGIN)
        if margin and "yield_margin" not in options:
            try:
                options["yield_margin"] = float(margin)
            except ValueError as exc:
                raise ConfigError(f"{ENV_YIELD_MARGIN} must be seconds, got {margin!r}") from exc
        options.setdefault("api_key", env.get(ENV_API_KEY) or None)
        options.setdefault("environment", env.get(ENV_ENVIRONMENT) or "dev")
        options.setdefault("base_url", env.get(ENV_BASE_URL) or None)
        memory = env.get(ENV_LAMBDA_MEMORY)
        if memory and "prices" not in options:
            try:
                options["prices"] = lambda_prices(int(memory))
            except ValueError as exc:
                raise ConfigError(f"{ENV_LAMBDA_MEMORY} must be megabytes (128 to 10240), "
                                  f"got {memory!r}") from exc  # fmt: skip
        client = cls(id or env.get(ENV_CLIENT_ID) or DEFAULT_CLIENT_ID, store=store, **options)
        if env.get(ENV_OTEL, "").lower() in ("1", "true", "yes"):
            from .otel import instrument  # imports opentelemetry (the [otel] extra)

            instrument(client)
        return client

    # -- jobs ---------------------------------------------------------------------------

    def define_job(
        self,
        id: str,
        *,
        trigger: Trigger,
        name: str | None = None,
        version: str = "0.0.1",
        concurrency_limit: int | None = None,
        max_duration: float | timedelta | None = None,
        integrations: Mapping[str, Any] | None = None,
        enabled: bool = True,
        run: RunFunction | None = None,
        retention: timedelta | None | str = "client",
        on_success: EndHook | None = None,
        on_failure: EndHook | None = None,
    ) -> Any:
        """Defines a job; use as a decorator on `async def run(payload, io, ctx)`, or pass `run=`.

        Returns the `Job` (with `run=`) or a decorator that returns it. `retention`: how
        long its finished runs are kept (None: forever); by default the client's.
        """
        check_name(id, field="define_job id")
        for option, value, allows_none in (("name", name, True), ("version", version, False)):
            if not isinstance(value, str) and not (allows_none and value is None):
                raise ConfigError(f"define_job {option} must be a string, got {value!r}")
        if not isinstance(enabled, bool):
            raise ConfigError(f"define_job enabled must be True or False, got {enabled!r}")
        if integrations is not None and not isinstance(integrations, Mapping):
            raise ConfigError(
                "define_job integrations must be a mapping of names to integrations, got "
                f"{type(integrations).__name__}"
            )
        if id in self.jobs:
            raise ConfigError(f"a job with id {id!r} is already defined")
        if not isinstance(trigger, Trigger):
            raise ConfigError(f"define_job trigger must be a trigger, got {type(trigger).__name__}")
        if concurrency_limit is not None and not _is_count(concurrency_limit, minimum=1):
            raise ConfigError(
                f"concurrency_limit must be an integer of at least 1, got {concurrency_limit!r}"
            )
        for hook_name, hook in (("on_success", on_success), ("on_failure", on_failure)):
            if hook is not None and not callable(hook):
                raise ConfigError(f"define_job {hook_name} must be callable, got "
                                  f"{type(hook).__name__}")  # fmt: skip
        if max_duration is not None:
            try:
                max_duration = checked_seconds(
                    max_duration, field=f"job {id!r} max_duration", exclusive_minimum=True
                )
            except ValueError as exc:
                raise ConfigError(str(exc)) from None

        kept = None if retention == "client" else (
            retention_seconds(retention, f"job {id!r} retention") or math.inf
        )

        def register(fn: RunFunction) -> Job:
            if not callable(fn):
                raise ConfigError(f"job {id!r}: run must be an async function, got "
                                  f"{type(fn).__name__}")  # fmt: skip
            if is_sync_function(fn):
                raise ConfigError(
                    f"job {id!r}: run must be an async function (async def run(payload, io, "
                    f"ctx)), got {getattr(fn, '__name__', type(fn).__name__)!r}, which is not"
                )
            job = Job(
                id=id,
                run=fn,
                trigger=trigger,
                name=name,
                version=version,
                concurrency_limit=concurrency_limit,
                max_duration=max_duration,
                integrations=dict(integrations or {}),
                enabled=enabled,
                retention=kept,
                on_success=on_success,
                on_failure=on_failure,
            )
            self.jobs[id] = job
            return job

        if run is not None:
            return register(run)
        return register

    def get_job(self, job_id: str) -> Job:
        """The job with this id; JobNotFound otherwise."""
        try:
            return self.jobs[job_id]
        except KeyError:
            raise JobNotFound(job_id) from None

    def webhook_job(self, trigger_id: str) -> Job:
        """The job whose webhook trigger has this id; JobNotFound otherwise."""
        for job in self.jobs.values():
            if isinstance(job.trigger, WebhookTrigger) and job.trigger.id == trigger_id:
                return job
        raise JobNotFound(trigger_id)

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
    ) -> Event:
        """Records an event, starts a run of every job it triggers and resolves the runs
        waiting on it (`io.wait_for_event`); idempotent on `id`.

        `deliver_at` (an aware datetime) or `deliver_after` (seconds or a timedelta, at most
        365 days) delays it: stored pending, delivered by the sweeper's tick at that time.
        """
        from . import events  # events, schedules, retries: off a worker's cold start

        return await events.send_event(
            self.runtime, name, payload, id=id, timestamp=timestamp, deliver_at=deliver_at,
            deliver_after=deliver_after,
        )  # fmt: skip

    async def cancel_event(self, id: str) -> bool:
        """Cancels a delayed event not yet delivered; False when it already was (or was
        canceled). Raises EventNotFound for an unknown id."""
        if not _is_storable_id(id):
            raise EventNotFound(id)
        from . import events

        return await events.cancel_event(self.runtime, id)

    @property
    def base_url(self) -> str | None:
        """Public base URL of the ASGI app, for io.wait_for_request's callback URLs."""
        return self.runtime.base_url

    async def invoke(self, job_id: str, payload: Any = None, *, id: str | None = None) -> Run:
        """Starts a run of `job_id` with `payload`; an invalid payload makes an INVALID_PAYLOAD run."""
        job = self.get_job(job_id)
        if not job.enabled:
            raise ConfigError(f"job {job_id!r} is disabled")
        if id is not None and not RUN_ID_PATTERN.fullmatch(id):
            raise ConfigError(
                f"id must be 1 to 128 letters, digits or . _ : - characters, got {id!r}"
            )
        run_id = id or new_run_id()
        record = await create_run(self.runtime, job, payload_json(payload), run_id=run_id)
        return build_run(record, None)

    async def start_webhook_run(self, trigger_id: str, payload: Any, *, delivery_id: str) -> Run:
        """Starts the run of a verified webhook delivery (idempotent on `delivery_id`)."""
        job = self.webhook_job(trigger_id)
        run_id = derived_id(delivery_id, job.id)
        record = await create_run(
            self.runtime, job, payload_json(payload), run_id=run_id,
            event_name=f"webhook.{trigger_id}",
        )  # fmt: skip
        return build_run(record, None)

    # -- reading and steering runs ------------------------------------------------------

    async def get_run(self, run_id: str, *, tasks: bool = True) -> Run:
        """The run with its task tree and logs (without them when `tasks` is False)."""
        _check_run_id(run_id)
        record = await self._store(self.store.get_run, run_id)
        if record is None:
            raise RunNotFound(run_id)
        history = await self._store(self.store.load_history, run_id) if tasks else None
        return build_run(record, history)

    async def list_runs(
        self,
        job_id: str | None = None,
        status: RunStatus | str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> RunList:
        """One page of runs, newest first, optionally of one job and one status."""
        if not _is_count(limit, minimum=1, maximum=MAX_LIST_LIMIT):
            raise ConfigError(f"limit must be between 1 and {MAX_LIST_LIMIT}, got {limit!r}"
                              " (a whole number)")  # fmt: skip
        if status is not None and not isinstance(status, RunStatus):
            try:
                status = RunStatus(str(status).upper())
            except ValueError:
                names = ", ".join(s.value for s in RunStatus)
                raise ConfigError(f"status must be one of {names}, got {status!r}") from None
        from .models import RunList

        if job_id is not None and not _is_storable_id(job_id):  # no job can have it
            return RunList(runs=[], next_cursor=None)
        records, next_cursor = await self._store(
            self.store.list_runs, job_id=job_id, status=status, limit=limit, cursor=cursor
        )
        return RunList(runs=[build_run(r, None) for r in records], next_cursor=next_cursor)

    async def cancel_run(self, run_id: str) -> Run:
        """Cancels a live run (no new task starts); a finished run is returned unchanged."""
        _check_run_id(run_id)
        now = self.clock.time()
        record = await self._store(self.store.cancel_run, run_id, now=now,
                                   expires_at=await self._expires_at(run_id, now))
        running_here = self.active_invocations.get(run_id)
        if running_here is not None:
            running_here.mark_canceled()
        if record is not None and record.slot is not None:  # its slot goes to the queue
            await release_slot(self.runtime, record.job_id, record.slot, run_id)
        if record is not None and record.parent_run_id is not None:
            await ends.notify_parent(self.runtime, record)
        if record is None:
            record = await self._store(self.store.get_run, run_id)
            if record is None:
                raise RunNotFound(run_id)
        return build_run(record, await self._store(self.store.load_history, run_id))

    async def _expires_at(self, run_id: str, now: float) -> float | None:
        """When a run ending now is deleted (its job's retention, else the client's)."""
        record = await self._store(self.store.get_run, run_id)
        job = self.jobs.get(record.job_id) if record is not None else None
        seconds = job.retention if job is not None and job.retention is not None else (
            self.runtime.retention_seconds
        )
        return None if seconds is None or seconds == math.inf else now + seconds
    async def retry_run(self, run_id: str) -> Run:
        """Continues a FAILED or TIMED_OUT run: completed tasks kept, failed ones tried afresh.

        Any other status raises `RunNotRetryable`. The run is PENDING (QUEUED later if its
        job's concurrency is full) and handed to the dispatcher; see core/retries.py.
        """
        _check_run_id(run_id)
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
        _check_run_id(run_id)
        return await engine.execute(self.runtime, run_id, deadline)

    async def tick(self, *, now: float | None = None) -> list[str]:
        """The sweeper and the schedules: re-dispatch due runs, fire cron and interval slots.

        Returns the ids of the runs it dispatched or started.
        """
        now = self.clock.time() if now is None else now
        started = await self._fire_schedules(now)
        from . import events

        started += await events.deliver_due_events(self.runtime, now)
        due: list[str] = await self._store(self.store.list_due_runs, now=now, limit=SWEEP_BATCH)
        if now - self._last_purge >= PURGE_INTERVAL_SECONDS:
            self._last_purge = now
            purge = getattr(self.store, "purge_expired_runs", None)  # stores of older versions
            purged = [] if purge is None else await self._store(purge, now=now, limit=SWEEP_BATCH)
            if purged:
                logger.info("retention: purged %d finished runs", len(purged))
        if self.dispatcher is not None:
            for run_id in due:
                await self.dispatcher.dispatch(run_id, now)
        due += await sweep_queues_if_due(self.runtime, now)
        return started + due

    async def _fire_schedules(self, now: float) -> list[str]:
        from .schedule import latest_cron_slot, latest_interval_slot

        moment = utc(now)
        started: list[str] = []
        for job in self.jobs.values():
            trigger = job.trigger
            if not job.enabled:
                continue
            if isinstance(trigger, CronTrigger):
                slot = latest_cron_slot(
                    trigger.expr, moment, timezone=trigger.timezone,
                    window=timedelta(seconds=SCHEDULE_CATCH_UP_SECONDS + 60),
                )
            elif isinstance(trigger, IntervalTrigger):
                slot = latest_interval_slot(trigger.seconds, moment)
            else:
                continue
            if slot is None or now - slot.timestamp() > SCHEDULE_CATCH_UP_SECONDS:
                continue
            expires_at = now + 7 * 24 * 3600
            if not await self._store(
                self.store.claim_slot, job.id, slot.isoformat(), expires_at=expires_at
            ):
                continue
            payload = {
                "ts": slot.isoformat(),
                "last_timestamp": await self._previous_scheduled_ts(job.id, slot.isoformat()),
            }
            run_id = derived_id(f"schedule:{slot.isoformat()}", job.id)
            await create_run(self.runtime, job, payload_json(payload), run_id=run_id)
            started.append(run_id)
        return started

    async def _previous_scheduled_ts(self, job_id: str, slot: str) -> str | None:
        """The `ts` of the job's latest scheduled run before `slot` (None on the first run).

        Read from the job's newest runs; a run counts only when its id is the one the
        schedule derives from its `ts`, so a manual invoke with a copied payload does not.
        """
        records, _ = await self._store(
            self.store.list_runs, job_id=job_id, status=None, limit=PREVIOUS_RUN_SCAN,
            cursor=None,
        )
        before = datetime.fromisoformat(slot)
        latest: tuple[datetime, str] | None = None
        for record in records:
            payload = load_json(record.payload_json)
            ts = payload.get("ts") if isinstance(payload, dict) else None
            if not isinstance(ts, str) or record.id != derived_id(f"schedule:{ts}", job_id):
                continue
            moment = datetime.fromisoformat(ts)
            if moment < before and (latest is None or moment > latest[0]):
                latest = (moment, ts)
        return None if latest is None else latest[1]

    def list_schedules(
        self, *, count: int = 5, now: float | None = None
    ) -> list[dict[str, Any]]:
        """Each scheduled job's trigger and its next `count` fire times (ISO 8601, UTC)."""
        from .schedule import MAX_FIRE_TIMES, next_fire_times

        if not 0 <= count <= MAX_FIRE_TIMES:
            raise ConfigError(f"count must be within 0-{MAX_FIRE_TIMES}, got {count}")
        moment = utc(self.clock.time() if now is None else now)
        schedules: list[dict[str, Any]] = []
        for job in self.jobs.values():
            trigger = job.trigger
            if isinstance(trigger, CronTrigger | IntervalTrigger):
                times = next_fire_times(trigger, moment, count)
                schedules.append({
                    "job_id": job.id, "enabled": job.enabled, "trigger": trigger.describe(),
                    "next_fire_times": [t.isoformat() for t in times],
                })
        return schedules

    async def _store(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await call_store(self.store, fn, *args, **kwargs)


def _is_storable_id(value: object) -> bool:
    """True for a str both stores can look up: SQLite refuses lone surrogates with a
    UnicodeEncodeError and DynamoDB keys must be strings; such an id names nothing."""
    if not isinstance(value, str):
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _check_run_id(run_id: object) -> None:
    """`RunNotFound` for an id no run can have, the same on every store (DESIGN.md)."""
    if not _is_storable_id(run_id):
        raise RunNotFound(run_id)  # type: ignore[arg-type]


def _is_count(value: object, *, minimum: int, maximum: float = math.inf) -> bool:
    """True for an int (not a bool) within the bounds: counts and limits take no 1.5 or NaN."""
    return isinstance(value, int) and not isinstance(value, bool) and minimum <= value <= maximum


def _shards_from(raw: str | None, default: int) -> int:
    """`shards=` for DynamoDBStore from TRIGGERFISH_SHARDS; absent means the store's default."""
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{ENV_SHARDS} must be a whole number of shards, got {raw!r}") from None
