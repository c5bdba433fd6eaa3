"""Dashboard sessions: a signed cookie from the API key, and CSRF tokens derived from it.

The dashboard has one secret, the API key (DESIGN.md, Adapters). Logging in with it
issues a cookie holding a random session id, signed and time-stamped with a key derived
from the API key (itsdangerous), so rotating the API key ends every session. Each form
that changes something carries a CSRF token, an HMAC of the session id: a page of
another site can make the browser send the cookie, but cannot read or compute the token.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable

from itsdangerous import BadData, URLSafeTimedSerializer
from triggerfish.core.errors import ConfigError

SESSION_COOKIE = "triggerfish_session"
DEFAULT_SESSION_MAX_AGE_SECONDS = 12 * 3600
_SESSION_SALT = "triggerfish.dashboard.session"
_CSRF_CONTEXT = b"triggerfish.dashboard.csrf"
MAX_REVOKED_SESSIONS = 100_000
"""Revoked session ids kept (each until its cookie would expire anyway); oldest go first."""


class SessionSigner:
    """Issues and checks session cookies and their CSRF tokens for one API key."""

    def __init__(
        self, api_key: str, *, max_age_seconds: int = DEFAULT_SESSION_MAX_AGE_SECONDS
    ) -> None:
        if not api_key:
            raise ConfigError("the dashboard needs an API key to sign its sessions, got none")
        self._api_key = api_key.encode()
        self._serializer = URLSafeTimedSerializer(api_key, salt=_SESSION_SALT)
        self._csrf_key = hmac.new(self._api_key, _CSRF_CONTEXT, hashlib.sha256).digest()
        self.max_age_seconds = max_age_seconds
        self._revoked: OrderedDict[str, float] = OrderedDict()

    def __repr__(self) -> str:
        return f"SessionSigner(api_key='****', max_age_seconds={self.max_age_seconds})"

    def is_api_key(self, given: str | None) -> bool:
        """True when `given` is the API key, compared in constant time."""
        if not given:
            return False
        return hmac.compare_digest(given.encode(), self._api_key)

    def new_session(self) -> str:
        """A fresh cookie value: a random session id, signed and time-stamped."""
        return self._serializer.dumps(secrets.token_urlsafe(18))

    def session_id(self, cookie: str | None) -> str | None:
        """The session id of a valid, unexpired cookie; None for anything else."""
        if not cookie:
            return None
        try:
            value = self._serializer.loads(cookie, max_age=self.max_age_seconds)
        except BadData:
            return None
        if not isinstance(value, str) or not value or self._is_revoked(value):
            return None
        return value

    def revoke(self, session_id: str) -> None:
        """Ends a session (logout): its cookie is refused from now on, in this process.

        Kept in memory until the cookie would have expired: other processes serving the
        same API key (other Lambda containers) accept the cookie until then.
        """
        self._forget_expired()
        self._revoked[session_id] = time.time() + self.max_age_seconds
        while len(self._revoked) > MAX_REVOKED_SESSIONS:
            self._revoked.popitem(last=False)

    def _is_revoked(self, session_id: str) -> bool:
        expires = self._revoked.get(session_id)
        return expires is not None and expires > time.time()

    def _forget_expired(self) -> None:
        now = time.time()
        while self._revoked:
            oldest, expires = next(iter(self._revoked.items()))
            if expires > now:
                return
            del self._revoked[oldest]

    def csrf_token(self, session_id: str) -> str:
        """The CSRF token of a session (the same for every form of that session)."""
        return hmac.new(self._csrf_key, session_id.encode(), hashlib.sha256).hexdigest()

    def is_csrf_token(self, session_id: str, given: str | None) -> bool:
        """True when `given` is the session's CSRF token, compared in constant time."""
        if not given:
            return False
        return hmac.compare_digest(given.encode(), self.csrf_token(session_id).encode())


class LoginThrottle:
    """Per-address backoff for failed logins (in memory, so per process).

    The first `free_failures` failures from one address cost nothing; each one after
    makes that address wait ``base_delay * 2**n`` seconds (up to `max_delay`) before its
    next attempt, which is answered 429 until then. A success forgets the address.
    """

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        free_failures: int = 5,
        base_delay_seconds: float = 1.0,
        max_delay_seconds: float = 300.0,
        max_addresses: int = 10_000,
    ) -> None:
        self._clock = clock
        self.free_failures = free_failures
        self.base_delay_seconds = base_delay_seconds
        self.max_delay_seconds = max_delay_seconds
        self.max_addresses = max_addresses
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()

    def retry_after(self, address: str) -> int:
        """Whole seconds `address` must still wait before its next attempt (0: none)."""
        entry = self._failures.get(address)
        if entry is None:
            return 0
        left = entry[1] - self._clock()
        return math.ceil(left) if left > 0 else 0

    def failed(self, address: str) -> None:
        """Counts a failed attempt from `address` and sets its wait."""
        count = self._failures.pop(address, (0, 0.0))[0] + 1
        extra = count - self.free_failures
        delay = 0.0
        if extra > 0:
            delay = min(self.max_delay_seconds, self.base_delay_seconds * 2 ** min(extra - 1, 30))
        self._failures[address] = (count, self._clock() + delay)
        while len(self._failures) > self.max_addresses:
            self._failures.popitem(last=False)

    def succeeded(self, address: str) -> None:
        """Forgets the failures of `address`."""
        self._failures.pop(address, None)
