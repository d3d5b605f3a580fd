"""How a scenario's numbers become floats or draws: point values, Monte-Carlo, one end.

    >>> from unitcost.economics.distributions import Range
    >>> PointSampler()("x", Range(low=1, mode=2, high=4))
    2.0
    >>> SwingSampler("x", "high")("x", Range(low=1, mode=2, high=4))
    4.0

Every number of a scenario passes through a `Sampler` with its dotted path, so one
evaluation serves a point estimate, a seeded Monte-Carlo sample and a tornado.
"""

from __future__ import annotations

import zlib
from typing import Protocol

import numpy as np

from unitcost.economics.breakdown import Num
from unitcost.economics.distributions import Range, point_value
from unitcost.economics.spec import Number

__all__ = ["DrawSampler", "PointSampler", "Sampler", "SwingSampler"]


class Sampler(Protocol):
    def __call__(self, path: str, value: Number) -> Num: ...


class PointSampler:
    """Every range at its point value; remembers which inputs were ranges."""

    def __init__(self) -> None:
        self.ranges: dict[str, Range] = {}

    def __call__(self, path: str, value: Number) -> Num:
        if isinstance(value, Range):
            self.ranges[path] = value
        return point_value(value)


class DrawSampler:
    """`n` draws per range; each input has its own stream, so results do not depend on
    the order inputs are visited, nor on ranges added elsewhere in the file."""

    def __init__(self, n: int, seed: int, chunk: int = 0) -> None:
        self.n, self.seed, self.chunk = n, seed, chunk

    def __call__(self, path: str, value: Number) -> Num:
        if not isinstance(value, Range):
            return float(value)
        rng = np.random.default_rng([self.seed, zlib.crc32(path.encode()), self.chunk])
        return value.sample(rng, self.n)


class SwingSampler(PointSampler):
    """One input at the low or high end of its range, the rest at their point values."""

    def __init__(self, target: str, end: str) -> None:
        super().__init__()
        self.target, self.end = target, end

    def __call__(self, path: str, value: Number) -> Num:
        if path == self.target and isinstance(value, Range):
            return value.low if self.end == "low" else value.high
        return super().__call__(path, value)
