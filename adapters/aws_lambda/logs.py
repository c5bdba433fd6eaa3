"""JSON log lines on Lambda, so CloudWatch Logs Insights can query them (issue 11).

On Lambda, `create_handler` gives the ``triggerfish`` logger a handler writing one JSON
object per line to stdout, unless the user configured logging first or set
``TRIGGERFISH_LOG_FORMAT=text``:

    {"timestamp": "2025-01-31T12:00:05.123Z", "level": "INFO", "logger": "triggerfish.core.engine",
     "message": "run r1 invocation 2: COMPLETED (...)", "run_id": "r1", "job_id": "email",
     "invocation": 2, "request_id": "c6af9ac6-..."}

Context fields come from the records' ``extra`` (STYLE.md, Logging) and the request id
from the invocation being handled. Queries: docs/operations.md.
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
LOG_FORMATS = ("json", "text")
CONTEXT_FIELDS = ("run_id", "job_id", "invocation", "task_key", "status", "message_id", "fields")
"""`extra` names copied into each line when a record carries them."""
ROOT_LOGGER = "triggerfish"
_RUNTIME_MODULES = ("awslambdaric", "bootstrap")
"""Where the Lambda runtime's own root handler comes from (it is not user configuration)."""

request_id: ContextVar[str | None] = ContextVar("triggerfish_lambda_request_id", default=None)
"""The Lambda request id of the invocation being handled, for every line it logs."""


class JSONFormatter(logging.Formatter):
    """Formats a record as one JSON object: time, level, logger, message and its context."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ).replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        current = request_id.get()
        if current is not None:
            line["request_id"] = current
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


def install_json_logging(environ: Mapping[str, str]) -> bool:
    """Gives the ``triggerfish`` logger a JSON-lines handler when on Lambda and unconfigured.

    Returns whether it did. Raises ConfigError for a ``TRIGGERFISH_LOG_FORMAT`` other
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
    handler.setFormatter(JSONFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # the runtime's root handler would print each line again
    return True
