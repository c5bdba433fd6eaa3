"""JSON error responses: ``{"error": {"code", "message", ...}}`` for every failure.

Core errors are translated here, at the boundary (STYLE.md, Errors), so the routes can
let `RunNotFound`, `JobNotFound`, `PayloadTooLarge` and friends propagate.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from triggerfish.core.errors import (
    ConfigError,
    EventNotFound,
    JobNotFound,
    OutputError,
    PayloadTooLarge,
    RunNotFound,
    RunNotRetryable,
    ScheduleNotFound,
)

logger = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    422: "validation_error",
}


class APIError(Exception):
    """An error the API answers as JSON with `status_code` and a machine-readable `code`."""

    def __init__(self, status_code: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = details


class BodyTooLarge(APIError):
    """A request body over the app's `max_body_bytes`."""

    def __init__(self, max_body_bytes: int) -> None:
        super().__init__(
            413,
            "payload_too_large",
            f"request body is over the limit of {max_body_bytes} bytes",
            max_body_bytes=max_body_bytes,
        )


def error_response(
    status_code: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
    **details: Any,
) -> JSONResponse:
    """The one error shape of the API."""
    return JSONResponse(
        {"error": {"code": code, "message": message, **details}},
        status_code=status_code,
        headers=headers,
    )


def validation_details(exc: ValidationError, *, prefix: tuple[str, ...] = ()) -> dict[str, Any]:
    """pydantic's issues as ``fields``: where (``loc``), what (``message``) and ``type``."""
    fields = [
        {"loc": [*prefix, *map(str, issue["loc"])], "message": issue["msg"], "type": issue["type"]}
        for issue in exc.errors(include_url=False)
    ]
    return {"fields": fields}


def invalid_field(loc: list[str], message: str) -> APIError:
    """A 422 naming one field (a query parameter or a header)."""
    text = f"{'.'.join(loc)}: {message}"
    return APIError(422, "validation_error", text, fields=[{"loc": loc, "message": message}])


async def _api_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, APIError):
        raise exc
    return error_response(exc.status_code, exc.code, exc.message, **exc.details)


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):
        raise exc
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)


async def _not_found(request: Request, exc: Exception) -> Response:
    if isinstance(exc, RunNotFound):
        return error_response(404, "run_not_found", str(exc), run_id=exc.run_id)
    if isinstance(exc, JobNotFound):
        return error_response(404, "job_not_found", str(exc), job_id=exc.job_id)
    if isinstance(exc, EventNotFound):
        return error_response(404, "event_not_found", str(exc), event_id=exc.event_id)
    if isinstance(exc, ScheduleNotFound):
        return error_response(404, "schedule_not_found", str(exc), schedule_id=exc.schedule_id)
    raise exc


async def _not_retryable(request: Request, exc: Exception) -> Response:
    """`retry_run` on a run that is not FAILED or TIMED_OUT: 409 naming its status."""
    if not isinstance(exc, RunNotRetryable):
        raise exc
    return error_response(409, "run_not_retryable", str(exc), run_id=exc.run_id,
                          status=exc.status)  # fmt: skip


async def _too_large(request: Request, exc: Exception) -> Response:
    return error_response(413, "payload_too_large", str(exc))


async def _config_error(request: Request, exc: Exception) -> Response:
    """A request the client refuses by its definitions (a disabled job, a bad option)."""
    return error_response(409, "conflict", str(exc))


async def _output_error(request: Request, exc: Exception) -> Response:
    """A payload that cannot be kept as JSON (NaN, a lone surrogate): 422 naming it."""
    key = getattr(exc, "key", "payload")
    loc = ["body", "payload"] if key == "payload" else ["body"]
    return error_response(
        422, "validation_error", str(exc), fields=[{"loc": loc, "message": str(exc)}]
    )


async def _internal_error(request: Request, exc: Exception) -> Response:
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "internal server error")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    APIError: _api_error,
    HTTPException: _http_error,
    RunNotFound: _not_found,
    JobNotFound: _not_found,
    EventNotFound: _not_found,
    ScheduleNotFound: _not_found,
    PayloadTooLarge: _too_large,
    OutputError: _output_error,
    ConfigError: _config_error,
    RunNotRetryable: _not_retryable,
    Exception: _internal_error,
}
"""Handlers for `Starlette(exception_handlers=...)`, most specific first."""
