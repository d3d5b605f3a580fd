"""Inputs given as ranges, and how they are drawn.

    >>> import numpy as np
    >>> r = Range(low=1.0, mode=2.0, high=4.0)
    >>> r.point
    2.0
    >>> draws = r.sample(np.random.default_rng(0), 100_000)
    >>> bool(1.0 <= draws.min() and draws.max() <= 4.0)
    True

A range is triangular when it has a mode, uniform when it has only low and high, and
lognormal when it says so; for a lognormal, low and high are its 5th and 95th percentiles.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, model_validator

__all__ = ["Z95", "Range", "point_value"]

Z95 = 1.6448536269514722  # standard normal quantile at 0.95


class Range(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    low: float
    high: float
    mode: float | None = None
    dist: Literal["triangular", "uniform", "lognormal"] | None = None

    @model_validator(mode="after")
    def _check(self) -> Range:
        if self.low > self.high:
            raise ValueError(
                f"range has low > high (low={self.low:g}, high={self.high:g}); "
                "accepted: low ≤ mode ≤ high"
            )
        if self.mode is not None and not self.low <= self.mode <= self.high:
            raise ValueError(
                f"range mode {self.mode:g} is outside [{self.low:g}, {self.high:g}]; "
                "accepted: low ≤ mode ≤ high"
            )
        if self.kind == "triangular" and self.mode is None:
            raise ValueError("a triangular range needs a mode: {low, mode, high}")
        if self.kind == "lognormal" and self.low <= 0:
            raise ValueError("a lognormal range needs low > 0 (low and high are its P5 and P95)")
        return self

    @property
    def kind(self) -> str:
        return self.dist or ("triangular" if self.mode is not None else "uniform")

    @property
    def point(self) -> float:
        """The single value used where one figure is needed: mode, midpoint or median."""
        if self.kind == "triangular" and self.mode is not None:
            return self.mode
        if self.kind == "lognormal":
            return math.sqrt(self.low * self.high)
        return (self.low + self.high) / 2

    def sample(self, rng: np.random.Generator, n: int) -> NDArray[np.float64]:
        if self.low == self.high:
            return np.full(n, self.low)
        if self.kind == "triangular":
            return rng.triangular(self.low, self.point, self.high, n)
        if self.kind == "lognormal":
            mu = (math.log(self.low) + math.log(self.high)) / 2
            sigma = (math.log(self.high) - math.log(self.low)) / (2 * Z95)
            return rng.lognormal(mu, sigma, n)
        return rng.uniform(self.low, self.high, n)


def point_value(value: float | Range) -> float:
    """A number as given, or a range's single representative value."""
    return value.point if isinstance(value, Range) else float(value)
