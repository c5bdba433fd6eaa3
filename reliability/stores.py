"""Opening a store from a one-line spec, shared by campaign supervisors and workers.

    sqlite:/path/to/runs.db
    dynamodb:http://127.0.0.1:5000|table-name
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def open_store(spec: str, *, client: Any = None) -> Any:
    """The store named by `spec`; `client` is a boto3 DynamoDB client to use (fault hooks)."""
    kind, _, where = spec.partition(":")
    if kind == "sqlite":
        from triggerfish.core import SQLiteStore

        return SQLiteStore(where)
    if kind == "dynamodb":
        from triggerfish.core import DynamoDBStore

        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        url, table = where.split("|")
        return DynamoDBStore(table, endpoint_url=url, region="us-east-1", client=client)
    raise ValueError(f"store spec must start with sqlite: or dynamodb:, got {spec!r}")


def new_dynamodb_spec(url: str) -> str:
    """A fresh table on the DynamoDB server at `url`, as a spec."""
    spec = f"dynamodb:{url}|runs-{uuid.uuid4().hex[:12]}"
    open_store(spec).create_table()
    return spec


@contextmanager
def moto() -> Iterator[str]:
    """A moto server in this process (it survives the workers' kills); yields its URL."""
    sys.path.insert(0, str(ROOT / "tests"))
    from support.servers import moto_server

    with moto_server() as url:
        yield url


def python_env() -> dict[str, str]:
    """The environment for a worker process: this interpreter's import path."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
