"""Maps core/ and adapters/ to triggerfish.core and triggerfish.adapters (DESIGN.md, Layout).

The package list is generated so that a new subpackage cannot be silently left out of the
wheel (and so out of the Lambda build); tests/test_packaging.py checks the wheel.
"""

from setuptools import find_packages, setup


def _prefixed(folder: str, prefix: str) -> list[str]:
    return [prefix] + [f"{prefix}.{name}" for name in find_packages(folder)]


setup(packages=_prefixed("core", "triggerfish.core") + _prefixed("adapters", "triggerfish.adapters"))
