"""DynamoDB stores on the local servers, each on a fresh table."""

from __future__ import annotations

import os
import uuid
from typing import Any


def make_dynamodb_store(url: str, **options: Any) -> Any:
    """A DynamoDBStore on a fresh table of the server at `url`."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    from triggerfish.core import DynamoDBStore

    store = DynamoDBStore(
        f"runs-{uuid.uuid4().hex[:12]}", endpoint_url=url, region="us-east-1", **options
    )
    store.create_table()
    return store
