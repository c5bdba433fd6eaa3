"""JSON log lines on Lambda, so CloudWatch Logs Insights can query them (issues 11 and 20).

On Lambda, `create_handler` gives the ``triggerfish`` logger a handler writing one JSON
object per line to stdout, unless the user configured logging first or set
``TRIGGERFISH_LOG_FORMAT=text``. The keys are those of AWS Lambda Powertools' Logger, so one
Logs Insights query reads a Powertools function's lines and these alike, plus ours:

    {"timestamp": "2025-01-31T12:00:05.123+00:00", "level": "INFO", "service": "acme",
     "logger": "triggerfish.core.engine", "message": "run r1 invocation 2: COMPLETED (...)",
     "run_id": "r1", "job_id": "email", "invocation": 2, "cold_start": false,
     "function_name": "acme-prod-worker", "function_request_id": "c6af9ac6-...",
     "request_id": "c6af9ac6-...", "xray_trace_id": "1-5759e988-bd862e3fe1be46a994272793"}

`timestamp` is RFC 3339 / ISO 8601 in UTC, as Powertools writes it with ``use_rfc3339``;
`service` is ``POWERTOOLS_SERVICE_NAME``, else the client's id; the ``function_*`` keys and
`cold_start` come from the Lambda context (absent without one), `xray_trace_id` from
``_X_AMZN_TRACE_ID`` (absent when unset). Context fields come from the records' ``extra``
(STYLE.md, Logging). `request_id` stays beside `function_request_id` for existing queries.
Queries: docs/operations.md.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from triggerfish.core.errors import ConfigError
from triggerfish.core.settings import ENV_LOG_FORMAT

LAMBDA_FUNCTION_VARIABLE = "AWS_LAMBDA_FUNCTION_NAME"
"""Set by the Lambda runtime in every function's environment."""
SERVICE_VARIABLE = "POWERTOOLS_SERVICE_NAME"
"""Powertools' service name, shared with the user's own Powertools loggers."""
TRACE_ID_VARIABLE = "_X_AMZN_TRACE_ID"
"""Set by the Lambda runtime for each traced invocation: ``Root=1-...;Parent=...;Sampled=1``."""
DEFAULT_SERVICE = "triggerfish"
"""The service name when neither the variable nor a client id gives one."""
LOG_FORMATS = ("json", "text")
CONTEXT_FIELDS = ("run_id", "job_id", "invocation", "task_key", "status", "message_id", "fields")
"""`extra` names copied into each line when a record carries them."""
ROOT_LOGGER = "triggerfish"
_RUNTIME_MODULES = ("awslambdaric", "bootstrap")
"""Where the Lambda runtime's own root handler comes from (it is not user configuration)."""

_CONTEXT_KEYS = (
    ("function_name", "function_name"),
    ("function_memory_size", "memory_limit_in_mb"),
    ("function_arn", "invoked_function_arn"),
    ("function_request_id", "aws_request_id"),
)
"""Powertools' key for each Lambda context attribute."""

invocation_fields: ContextVar[Mapping[str, Any] | None] = ContextVar(
    "triggerfish_lambda_invocation_fields", default=None
)
"""Keys of the invocation being handled (`lambda_fields`), for every line it logs."""


def xray_trace_id(header: str | None) -> str | None:
    """The ``Root`` of an X-Ray trace header, as Powertools logs it; None when absent."""
    for part in (header or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == "Root" and value:
            return value
    return None


def lambda_fields(
    context: Any, environ: Mapping[str, str], *, cold_start: bool
) -> dict[str, Any]:
    """The Powertools keys of one invocation: its Lambda context's and its trace id.

    `cold_start` is True for the first invocation a container handles. Without a context
    (a direct call, a test) only `xray_trace_id` can be present.
    """
    fields: dict[str, Any] = {}
    if context is not None:
        fields["cold_start"] = cold_start
        for key, attribute in _CONTEXT_KEYS:
            value = getattr(context, attribute, None)
            if value is not None:
                is_number = key == "function_memory_size" and str(value).isdigit()
                fields[key] = int(value) if is_number else value  # Powertools logs an int
        if "function_request_id" in fields:
            fields["request_id"] = fields["function_request_id"]
    trace = xray_trace_id(environ.get(TRACE_ID_VARIABLE))
    if trace is not None:
        fields["xray_trace_id"] = trace
    return fields


class JSONFormatter(logging.Formatter):
    """Formats a record as one JSON object with Powertools' keys and the run's context."""

    def __init__(self, *, service: str = DEFAULT_SERVICE) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        line.update(invocation_fields.get() or {})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def is_logging_configured(logger: logging.Logger) -> bool:
    """True when the user set up logging: handlers or a level on `logger`, or a root handler
    other than the Lambda runtime's."""
    if logger.handlers or logger.level != logging.NOTSET:
        return True
    return any(
        type(handler).__module__.split(".")[0] not in _RUNTIME_MODULES
        for handler in logging.getLogger().handlers
    )


def install_json_logging(environ: Mapping[str, str], *, service: str | None = None) -> bool:
    """Gives the ``triggerfish`` logger a JSON-lines handler when on Lambda and unconfigured.

    Its lines' `service` is ``POWERTOOLS_SERVICE_NAME``, else `service` (the client's id),
    else "triggerfish". Returns whether it did. Raises ConfigError for a ``TRIGGERFISH_LOG_FORMAT`` other
    than ``json`` or ``text``.
    """
    chosen = (environ.get(ENV_LOG_FORMAT) or "json").strip().lower()
    if chosen not in LOG_FORMATS:
        raise ConfigError(
            f"{ENV_LOG_FORMAT} must be one of {', '.join(LOG_FORMATS)}, got {chosen!r}"
        )
    logger = logging.getLogger(ROOT_LOGGER)
    if chosen != "json" or not environ.get(LAMBDA_FUNCTION_VARIABLE):
        return False
    if is_logging_configured(logger):
        return False
    handler = logging.StreamHandler(sys.stdout)
    chosen_service = environ.get(SERVICE_VARIABLE) or service or DEFAULT_SERVICE
    handler.setFormatter(JSONFormatter(service=chosen_service))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # the runtime's root handler would print each line again
    return True
