"""`RetryPolicy`: how often a failed task is tried again, and after how long."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from .errors import ConfigError
from .times import checked_seconds

DEFAULT_RETRY_LIMIT = 5
DEFAULT_RETRY_FACTOR = 1.8
DEFAULT_MIN_TIMEOUT_SECONDS = 1.0
DEFAULT_MAX_TIMEOUT_SECONDS = 60.0


class RetryPolicy(BaseModel):
    """Exponential backoff for a task: `limit` attempts in all, the first included.

    The wait after the n-th failed attempt is ``min(max_timeout, min_timeout * factor**(n-1))``,
    times a random factor in [1, 2) when `randomize`; times are seconds (float or timedelta).
    `retry_on` limits which errors are retried: an exception type, a tuple of them, or a
    predicate ``(exc) -> bool``; any other error fails the task at once. None retries all.
    """

    # Built on first use: a job with no retry policy never pays for its validators.
    model_config = ConfigDict(frozen=True, defer_build=True)

    limit: int = Field(default=DEFAULT_RETRY_LIMIT, ge=1)
    factor: float = Field(default=DEFAULT_RETRY_FACTOR, ge=1.0)
    min_timeout: float = Field(default=DEFAULT_MIN_TIMEOUT_SECONDS, ge=0.0)
    max_timeout: float = Field(default=DEFAULT_MAX_TIMEOUT_SECONDS, ge=0.0)
    randomize: bool = True
    retry_on: Any = Field(default=None, exclude=True)
    """None, an exception type, a tuple of them, or a predicate; not serialized."""

    def __init__(self, limit: int = DEFAULT_RETRY_LIMIT, **options: object) -> None:
        if options.get("retry_on") is not None:
            options["retry_on"] = _checked_retry_on(options["retry_on"])
        super().__init__(limit=limit, **options)

    @field_validator("min_timeout", "max_timeout", mode="before")
    @classmethod
    def _seconds(cls, value: object, info: ValidationInfo) -> object:
        return checked_seconds(value, field=f"RetryPolicy {info.field_name}")

    @field_validator("factor", mode="before")
    @classmethod
    def _factor(cls, value: object) -> object:
        if isinstance(value, int | float) and not math.isfinite(value):
            raise ValueError(f"RetryPolicy factor must be a finite number, got {value!r}")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> RetryPolicy:
        if self.max_timeout < self.min_timeout:
            raise ValueError(
                f"max_timeout ({self.max_timeout} s) must be at least min_timeout "
                f"({self.min_timeout} s)"
            )
        return self

    def delay_seconds(self, failed_attempts: int, *, rng: random.Random | None = None) -> float:
        """Seconds to wait after the `failed_attempts`-th failure before the next attempt."""
        try:
            base = min(self.max_timeout, self.min_timeout * self.factor ** (failed_attempts - 1))
        except OverflowError:  # factor**n past float range: far beyond max_timeout anyway
            base = self.max_timeout
        if self.randomize:
            base *= 1.0 + (rng or random).random()
        return max(self.min_timeout, base)

    def should_retry(self, exc: BaseException) -> bool:
        """True when `exc` is an error `retry_on` retries (every error when it is None)."""
        if self.retry_on is None:
            return True
        if isinstance(self.retry_on, tuple):
            return isinstance(exc, self.retry_on)
        return bool(self.retry_on(exc))

    def has_attempts_left(self, attempts: int) -> bool:
        """True when another attempt is allowed after `attempts` tries."""
        return attempts < self.limit


def _checked_retry_on(value: object) -> tuple[type[BaseException], ...] | Callable[..., Any]:
    """`retry_on` as a tuple of exception types or a predicate; anything else is a ConfigError."""
    if isinstance(value, list):
        value = tuple(value)
    if isinstance(value, type):
        value = (value,)
    if isinstance(value, tuple):
        wrong = [v for v in value if not (isinstance(v, type) and issubclass(v, BaseException))]
        if wrong or not value:
            shown = ", ".join(repr(v) for v in wrong) if wrong else "an empty tuple"
            raise ConfigError(
                "RetryPolicy retry_on must be an exception type, a tuple of exception types or"
                f" a predicate (exc) -> bool; got {shown}"
            )
        return value
    if callable(value):
        return value
    raise ConfigError(
        "RetryPolicy retry_on must be an exception type, a tuple of exception types or a"
        f" predicate (exc) -> bool; got {value!r} ({type(value).__name__})"
    )
