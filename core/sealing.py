"""Credentials sealed at rest with AES-256-GCM (`cryptography`, imported only when used).

    key      32 random bytes as url-safe base64 (44 characters, the format of a Fernet key):
             Client(connection_key=...) or TRIGGERFISH_CONNECTION_KEY; make one with
             `python -m triggerfish.core.sealing`
    sealed   "v1." + url-safe base64 of (12-byte random nonce + ciphertext + 16-byte tag)

The connection's name is the associated data: a sealed value copied under another name
does not open. A worker that never reads a connection never imports `cryptography`.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import Any

from .errors import ConfigError

KEY_BYTES = 32
NONCE_BYTES = 12
SEALED_PREFIX = "v1."
INSTALL_HINT = "pip install 'triggerfish[connections]'"


def new_key() -> str:
    """A fresh random connection key, as `connection_key` takes it."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()


def parse_key(key: str | bytes) -> bytes:
    """The 32 key bytes of a url-safe base64 key; a ConfigError otherwise (the key itself is
    never echoed)."""
    text = key.decode() if isinstance(key, bytes) else key
    if not isinstance(text, str):
        raise ConfigError(f"connection_key must be a str, got {type(key).__name__}")
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise ConfigError(
            f"connection_key must be {KEY_BYTES} bytes as url-safe base64 (44 characters; "
            f"make one with `python -m triggerfish.core.sealing`), got {len(text)} characters"
        )
    return raw


def seal(key: bytes, name: str, plaintext: str) -> str:
    """`plaintext` encrypted and authenticated under `key`, bound to `name`."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = _aead(key).encrypt(nonce, plaintext.encode(), name.encode())
    return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(key: bytes, name: str, sealed: str) -> str:
    """The plaintext `seal` sealed; a ConfigError when `key` (or `name`) is not the one used."""
    from cryptography.exceptions import InvalidTag

    try:
        if not sealed.startswith(SEALED_PREFIX):
            raise ValueError("unknown format")
        raw = base64.urlsafe_b64decode(sealed[len(SEALED_PREFIX) :].encode())
        plain: bytes = _aead(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], name.encode())
    except (InvalidTag, ValueError, binascii.Error):
        raise ConfigError(
            f"connection {name!r} does not open with this connection_key: it was stored "
            "with another key (set it again with the current key)"
        ) from None
    return plain.decode()


def _aead(key: bytes) -> Any:
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError:
        raise ConfigError(f"connections need the cryptography package: {INSTALL_HINT}") from None
    return AESGCM(key)


if __name__ == "__main__":
    print(new_key())
