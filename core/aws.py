"""AWS clients made with botocore alone, from one botocore session per process.

`boto3.client(...)` is a botocore client made from boto3's default session; importing boto3
and building that session costs a Lambda cold start about 10 ms of CPU and 60 modules that
low-level clients never use. The clients are the same: credentials, region, retries and
the `AWS_ENDPOINT_URL` variables are botocore's, read as boto3 reads them.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.config import Config
    from botocore.session import Session

_session: Session | None = None
_lock = threading.Lock()
"""botocore sessions are not safe to build clients from in several threads at once."""


def require_botocore(user: str) -> None:
    """Fails at construction, naming the extra to install, when boto3/botocore is missing."""
    try:
        import botocore  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(f"{user} needs boto3: pip install 'triggerfish[aws]'") from exc


def aws_client(
    service: str,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    config: Config | None = None,
) -> Any:
    """A client for `service`, as `boto3.client(service, ...)` would make it."""
    global _session
    import botocore.session

    with _lock:
        if _session is None:
            _session = botocore.session.get_session()
        return _session.create_client(
            service, endpoint_url=endpoint_url, region_name=region, config=config
        )
