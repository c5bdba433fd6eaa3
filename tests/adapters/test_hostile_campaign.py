"""The short form of the hostile-input campaign (reliability/hostile.py): 200 generated
cases over every HTTP route and Lambda event shape; no 5xx, no trace, no refused change."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_short_hostile_campaign_finds_nothing() -> None:
    spec = importlib.util.spec_from_file_location("hostile_campaign", ROOT / "reliability" /
                                                  "hostile.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    report = module.run(200, seed=1)
    report.print(0.0)
    assert sum(report.cases.values()) >= 200
    assert report.failures == []
