"""`Client.from_env`'s reading of the `TRIGGERFISH_*` variables (names in core/settings.py).

The store, the dispatcher and the tracer are imported only when their variable asks for
them: a SQLite laptop never imports boto3, an untraced client never imports opentelemetry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .settings import (
    DEFAULT_SQLITE_PATH,
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_BUCKET,
    ENV_CONNECTION_KEY,
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
from .usage import ENV_LAMBDA_MEMORY, lambda_prices

if TYPE_CHECKING:
    from .runtime import HasRuntime
    from .store.base import Store

ENV_OTEL = "TRIGGERFISH_OTEL"
"""`Client.from_env` turns OpenTelemetry tracing on when this is 1, true or yes."""


def store_from_env(env: Mapping[str, str]) -> Store:
    """DynamoDB (and S3) when TRIGGERFISH_TABLE is set, else SQLite."""
    region = env.get(ENV_REGION) or None
    endpoint_url = env.get(ENV_ENDPOINT_URL) or None
    table = env.get(ENV_TABLE) or env.get(ENV_TABLE_NAME)
    if table:
        from .store.dynamodb import DEFAULT_SHARDS, DynamoDBStore

        return DynamoDBStore(
            table,
            endpoint_url=endpoint_url,
            region=region,
            bucket=env.get(ENV_BUCKET) or None,
            shards=_shards_from(env.get(ENV_SHARDS), DEFAULT_SHARDS),
        )
    from .store.sqlite import SQLiteStore

    return SQLiteStore(env.get(ENV_DB) or DEFAULT_SQLITE_PATH)


def options_from_env(env: Mapping[str, str], options: dict[str, Any]) -> dict[str, Any]:
    """`options` (the caller's `Client` keyword arguments, which win) completed from `env`:
    the SQS dispatcher, yield margin, API key, environment, base URL, connection key and
    Lambda prices."""
    region = env.get(ENV_REGION) or None
    endpoint_url = env.get(ENV_ENDPOINT_URL) or None
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
    options.setdefault("connection_key", env.get(ENV_CONNECTION_KEY) or None)
    memory = env.get(ENV_LAMBDA_MEMORY)
    if memory and "prices" not in options:
        try:
            options["prices"] = lambda_prices(int(memory))
        except ValueError as exc:
            raise ConfigError(f"{ENV_LAMBDA_MEMORY} must be megabytes (128 to 10240), "
                              f"got {memory!r}") from exc  # fmt: skip
    return options


def instrument_from_env(client: HasRuntime, env: Mapping[str, str]) -> None:
    """OpenTelemetry spans for `client` when TRIGGERFISH_OTEL asks for them."""
    if env.get(ENV_OTEL, "").lower() in ("1", "true", "yes"):
        from .otel import instrument  # imports opentelemetry (the [otel] extra)

        instrument(client)


def _shards_from(raw: str | None, default: int) -> int:
    """`shards=` for DynamoDBStore from TRIGGERFISH_SHARDS; absent means the store's default."""
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{ENV_SHARDS} must be a whole number of shards, got {raw!r}") from None
