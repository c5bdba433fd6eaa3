"""The distribution's version, defined here once (issue 20).

pyproject.toml reads `__version__` from this file (setuptools' dynamic ``attr:``), so the
wheel's metadata, ``triggerfish.core.__version__`` and ``triggerfish --version`` agree.
This module imports only the stdlib: setuptools may read it without installing anything.
"""

from __future__ import annotations

import platform

__version__ = "0.1.0"


def version_text() -> str:
    """What ``triggerfish --version`` prints: the version and the Python that runs it."""
    return f"triggerfish {__version__} (Python {platform.python_version()})"
