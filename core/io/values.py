"""`io.random` and `io.now`: values made once per run and recorded, so replays see the same."""

from __future__ import annotations

import math
import random as _random
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .records import recorded_value

if TYPE_CHECKING:
    from ..port import Port


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"io.random {name} must be a finite number, got {value!r}")
    return float(value)


async def random(inv: Port, key: str, *, min: float, max: float, round: bool) -> float | int:
    """A uniform number in [min, max) (an integer in [min, max] when `round`), recorded once."""
    low, high = _number("min", min), _number("max", max)
    if low > high:
        raise ConfigError(f"io.random min must be at most max, got min={min!r} max={max!r}")
    if low == high:  # v2 answers the one possible value, with a warning in the run's log
        inv.write_log("WARN", f"io.random {key!r}: min == max ({min!r}), so the value is always "
                      f"{min!r}", {})  # fmt: skip
    if round and math.ceil(low) > math.floor(high):
        raise ValueError(f"io.random round=True needs an integer between min={min!r} and max={max!r}")

    def make() -> float | int:
        if round:
            return _random.randint(math.ceil(low), math.floor(high))
        return _random.uniform(low, high)

    value: float | int = await recorded_value(inv, inv.claim(key), make, kind="random")
    return value


async def now(inv: Port, key: str) -> datetime:
    """The time this call first ran (an aware UTC datetime), recorded once."""

    def make() -> str:
        return datetime.fromtimestamp(inv.clock.time(), tz=UTC).isoformat()

    stamp = await recorded_value(inv, inv.claim(key), make, kind="now")
    return datetime.fromisoformat(str(stamp))
