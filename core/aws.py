"""AWS clients made with botocore alone, from one botocore session per process.

`boto3.client(...)` is a botocore client made from boto3's default session; importing boto3
and building that session costs a Lambda cold start about 10 ms of CPU and 60 modules that
low-level clients never use. The clients are the same: credentials, region, retries and
the `AWS_ENDPOINT_URL` variables are botocore's, which boto3 reads through too. When the
user's code has set up boto3's default session (`boto3.setup_default_session(...)`, or any
`boto3.client` call), that session's settings are used, as `boto3.client` would.
"""

from __future__ import annotations

import os
import sys
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
    with _lock:
        session = _boto3_default_session()
        if session is None:
            if _session is None:
                import botocore.session

                _session = botocore.session.get_session()
            session = _session
        return session.create_client(
            service, endpoint_url=endpoint_url, region_name=region, config=config
        )


def _boto3_default_session() -> Session | None:
    """The botocore session under boto3's default one, when the user's code made it."""
    boto3 = sys.modules.get("boto3")
    default = getattr(boto3, "DEFAULT_SESSION", None)
    return getattr(default, "_session", None)


def _after_fork() -> None:
    """A forked child starts with a free lock (another thread may have held it)."""
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
