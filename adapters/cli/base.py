"""What every command shares: the one-line error and loading the user's `Client`."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    Commands = argparse._SubParsersAction[argparse.ArgumentParser]
    """The `add_subparsers()` object each command module adds its commands to."""


class CLIError(Exception):
    """A failure reported as one ``error: ...`` line and exit status 1."""


def load_client(spec: str) -> Any:
    """The ``Client`` named ``module:attribute``, importable from the current directory."""
    import importlib

    from triggerfish.core import Client

    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise CLIError(f"MODULE:client must look like 'examples.jobs:client', got {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise CLIError(f"cannot import module {module_name!r}: {exc}") from exc
    except Exception as exc:
        raise CLIError(
            f"importing {module_name!r} failed: {type(exc).__name__}: {exc}"
        ) from exc
    client = getattr(module, attribute, None)
    if not isinstance(client, Client):
        found = "nothing" if client is None else type(client).__name__
        raise CLIError(f"{spec!r} must name a triggerfish Client, found {found}")
    return client
