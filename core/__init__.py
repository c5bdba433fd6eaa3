"""triggerfish.core: resumable background jobs, portable across Lambda and ASGI hosts.

Heavy optional names (`DynamoDBStore`, `SQSDispatcher`, `SQLiteStore`) are resolved on
first use, so ``import triggerfish.core`` never imports boto3 or sqlite3 (Lambda cold
starts pay for every import); so are the API models (`Run`, `Task`, `Event`, ...), which
a worker resuming a run never builds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .batch import BatchItem, BatchItemStatus, BatchResult, CompletionReason
from .client import Client
from .clock import Clock, SkippingClock, SystemClock
from .context import Context
from .dispatch.base import Dispatcher
from .dispatch.local import LocalDispatcher
from .errors import (
    CallbackFailed,
    ConditionFailed,
    ConfigError,
    DuplicateKeyError,
    EventNotFound,
    JobNotFound,
    NonDeterminismError,
    OutputError,
    PayloadTooLarge,
    RunNotFound,
    RunNotRetryable,
    ScheduleNotFound,
    StoreError,
    Suspend,
    TaskFailed,
    TaskInterrupted,
    TaskTimeout,
    TriggerfishError,
    WaitTimeout,
)
from .flow import Batch, ConcurrencyLimit, Debounce, RateLimit
from .io import IO
from .jobs import Job
from .outcome import Outcome
from .serdes import JsonSerdes, Serdes
from .store.base import Store
from .task_context import TaskContext
from .triggers import (
    cron_trigger,
    event_trigger,
    interval_trigger,
    invoke_trigger,
    webhook_trigger,
)
from .types import RunStatus, TaskStatus
from .version import __version__ as __version__

if TYPE_CHECKING:
    from .dispatch.sqs import SQSDispatcher
    from .models import Event, LogLine, Run, RunList, Schedule, Status, StatusValue, Task
    from .retry import RetryPolicy
    from .store.dynamodb import DynamoDBStore
    from .store.sqlite import SQLiteStore

_MODELS = "triggerfish.core.models"
_LAZY = {
    # the API models: an SQS resume builds none of them (only Outcome)
    **{
        name: (_MODELS, name)
        for name in (
            "Event", "LogLine", "Run", "RunList", "Schedule", "Status", "StatusValue", "Task"
        )
    },
    "DynamoDBStore": ("triggerfish.core.store.dynamodb", "DynamoDBStore"),
    "SQSDispatcher": ("triggerfish.core.dispatch.sqs", "SQSDispatcher"),
    "SQLiteStore": ("triggerfish.core.store.sqlite", "SQLiteStore"),  # sqlite3: not on Lambda's path
    "RetryPolicy": ("triggerfish.core.retry", "RetryPolicy"),  # a model: built when first used
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        module, attribute = _LAZY[name]
        return getattr(import_module(module), attribute)
    raise AttributeError(f"module 'triggerfish.core' has no attribute {name!r}")


__all__ = [
    "IO",
    "Batch",
    "BatchItem",
    "BatchItemStatus",
    "BatchResult",
    "CallbackFailed",
    "Client",
    "Clock",
    "CompletionReason",
    "ConcurrencyLimit",
    "ConditionFailed",
    "ConfigError",
    "Context",
    "Debounce",
    "Dispatcher",
    "DuplicateKeyError",
    "DynamoDBStore",
    "Event",
    "EventNotFound",
    "Job",
    "JobNotFound",
    "JsonSerdes",
    "LocalDispatcher",
    "LogLine",
    "NonDeterminismError",
    "Outcome",
    "OutputError",
    "PayloadTooLarge",
    "RateLimit",
    "RetryPolicy",
    "Run",
    "RunList",
    "RunNotFound",
    "RunNotRetryable",
    "RunStatus",
    "SQLiteStore",
    "SQSDispatcher",
    "Schedule",
    "ScheduleNotFound",
    "Serdes",
    "SkippingClock",
    "Status",
    "StatusValue",
    "Store",
    "StoreError",
    "Suspend",
    "SystemClock",
    "Task",
    "TaskContext",
    "TaskFailed",
    "TaskInterrupted",
    "TaskStatus",
    "TaskTimeout",
    "TriggerfishError",
    "WaitTimeout",
    "cron_trigger",
    "event_trigger",
    "interval_trigger",
    "invoke_trigger",
    "webhook_trigger",
]
