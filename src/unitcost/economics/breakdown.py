"""Cost lines that say where their figure came from.

    >>> b = Breakdown("usd_per_hour", (Line("lease", 2.5, "input lease_usd_per_hour"),))
    >>> b.total
    2.5

Values are floats for one estimate, or NumPy arrays of draws for a Monte-Carlo run: every
function in `economics` accepts and returns either, so one code path serves both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Breakdown", "Line", "Num", "as_float", "fmt", "plain"]

Num = float | NDArray[np.float64]


@dataclass(frozen=True)
class Line:
    name: str
    value: Num
    source: str


@dataclass(frozen=True)
class Breakdown:
    unit: str
    lines: tuple[Line, ...]

    @property
    def total(self) -> Num:
        total: Num = 0.0
        for line in self.lines:
            total = total + line.value
        return total

    def line(self, name: str) -> Line:
        for line in self.lines:
            if line.name == name:
                return line
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "total": as_float(self.total),
            "lines": [
                {"name": ln.name, "value": as_float(ln.value), "source": ln.source}
                for ln in self.lines
            ],
        }


def as_float(value: Num) -> float:
    """A point value; for an array of draws, its median."""
    if isinstance(value, np.ndarray):
        return float(np.median(value))
    return float(value)


def fmt(value: Num, digits: int = 4) -> str:
    """A figure for a source string: significant digits, no trailing noise, never 2.7e+04."""
    v = as_float(value)
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return str(np.format_float_positional(v, precision=digits, fractional=False, trim="-"))


def plain(value: Any) -> Num:
    """A NumPy result as the Num it stands for: a float for one value, else the array."""
    arr = np.asarray(value, dtype=np.float64)
    return float(arr) if arr.ndim == 0 else arr
