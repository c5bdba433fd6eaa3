"""`S3Blobs`: outputs too large for a DynamoDB item, one object per write.

Each upload gets a fresh object key, so a write that then loses its condition can never
replace the object the winning record points to (the loser deletes its own upload).
Every botocore failure of an upload or a read is a StoreError (the invocation stops, the
run resumes later), never an error the run function sees.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

from ..errors import StoreError
from ..usage import count

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

logger = logging.getLogger(__name__)


class S3Blobs:
    """JSON text in an S3 bucket, addressed by ``s3://bucket/key`` references."""

    def __init__(
        self,
        bucket: str,
        *,
        client: S3Client | None = None,
        endpoint_url: str | None = None,
        region: str | None = None,
    ) -> None:
        self.bucket = bucket
        self._client = client
        self._endpoint_url = endpoint_url
        self._region = region

    def _s3(self) -> S3Client:
        if self._client is None:
            from ..aws import aws_client

            self._client = aws_client("s3", endpoint_url=self._endpoint_url, region=self._region)
        return self._client

    def put(self, run_id: str, name: str, text: str) -> str:
        """Uploads `text` under a fresh key below the run's prefix; returns its reference."""
        key = f"runs/{run_id}/{name}-{uuid.uuid4().hex[:12]}.json"
        count("blob_requests")
        try:
            self._s3().put_object(
                Bucket=self.bucket, Key=key, Body=text.encode(), ContentType="application/json"
            )
        except _botocore_errors() as exc:
            raise StoreError(
                f"upload to s3://{self.bucket}/{key}: {type(exc).__name__}: {exc}"
            ) from exc
        return f"s3://{self.bucket}/{key}"

    def get(self, ref: str) -> str:
        """The text behind a reference."""
        bucket, _, key = ref.removeprefix("s3://").partition("/")
        count("blob_requests")
        try:
            body = self._s3().get_object(Bucket=bucket, Key=key)["Body"].read()
        except _botocore_errors() as exc:
            raise StoreError(f"read of {ref}: {type(exc).__name__}: {exc}") from exc
        return bytes(body).decode()

    def delete(self, ref: str) -> None:
        """Deletes an orphaned upload (best effort: a leftover object costs only storage)."""
        bucket, _, key = ref.removeprefix("s3://").partition("/")
        count("blob_requests")
        try:
            self._s3().delete_object(Bucket=bucket, Key=key)
        except Exception as exc:  # noqa: BLE001 - cleanup must not fail the caller
            logger.warning("could not delete orphaned output %s: %s", ref, exc)


def _botocore_errors() -> tuple[type[Exception], ...]:
    """Every failure botocore raises (imported late: boto3 is optional)."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)
