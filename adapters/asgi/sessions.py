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
import secrets

from itsdangerous import BadData, URLSafeTimedSerializer
from triggerfish.core.errors import ConfigError

SESSION_COOKIE = "triggerfish_session"
DEFAULT_SESSION_MAX_AGE_SECONDS = 12 * 3600
_SESSION_SALT = "triggerfish.dashboard.session"
_CSRF_CONTEXT = b"triggerfish.dashboard.csrf"


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
        return value if isinstance(value, str) and value else None

    def csrf_token(self, session_id: str) -> str:
        """The CSRF token of a session (the same for every form of that session)."""
        return hmac.new(self._csrf_key, session_id.encode(), hashlib.sha256).hexdigest()

    def is_csrf_token(self, session_id: str, given: str | None) -> bool:
        """True when `given` is the session's CSRF token, compared in constant time."""
        if not given:
            return False
        return hmac.compare_digest(given.encode(), self.csrf_token(session_id).encode())
