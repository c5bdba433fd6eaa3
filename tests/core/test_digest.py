"""Task ids and idempotency keys keep their values whichever SHA-256 computes them: stored
runs are found by those ids, and downstream APIs deduplicate by those keys."""

import hashlib

import pytest
from triggerfish.core.digest import sha256_hex
from triggerfish.core.port import task_id_for
from triggerfish.core.task_context import idempotency_key_for


@pytest.mark.parametrize(
    "data", [b"", b"run-1\x00\x00seven", "caf\u00e9 \U0001f600".encode(), b"x" * 10_000]
)
def test_the_digest_is_hashlib_s_sha256(data: bytes) -> None:
    assert sha256_hex(data) == hashlib.sha256(data).hexdigest()


def test_a_task_id_is_the_one_stored_runs_hold() -> None:
    # Values written before the digest moved off OpenSSL: a change here orphans stored tasks.
    assert task_id_for("run-1", None, "seven") == "d1755a4706b1c2c54123462993c9c78b"
    assert (
        task_id_for("run-1", "d1755a4706b1c2c54123462993c9c78b", "seven")
        == hashlib.sha256(b"run-1\x00d1755a4706b1c2c54123462993c9c78b\x00seven").hexdigest()[:32]
    )


def test_an_idempotency_key_is_the_one_sent_before() -> None:
    assert (
        idempotency_key_for("run-1", "abc")
        == hashlib.sha256(b"triggerfish\x00run-1\x00abc").hexdigest()
    )
