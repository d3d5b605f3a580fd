"""Intervals and paired tests for eval results: Wilson, bootstrap, McNemar, paired bootstrap.

    >>> w = wilson(8, 10)
    >>> round(w.low, 4), round(w.high, 4)
    (0.4902, 0.9433)
    >>> m = mcnemar_counts(b=121, c=59)            # discordant pairs of a 2×2 table
    >>> round(m.statistic, 2), m.p_value < 0.001
    (20.67, True)

- Wilson's score interval for a proportion (Wilson 1927, JASA 22:209), used when every
  score is 0 or 1: it keeps its coverage near 0 and 1, where the normal interval fails.
- Percentile bootstrap (Efron and Tibshirani 1993, ch. 13) for everything else: means of
  graded scores, cost per task, cost per correct answer (a ratio of sums), differences.
- McNemar's test (McNemar 1947, Psychometrika 12:153) for two variants' 0/1 scores on the
  same items: only the discordant pairs b and c count; exact binomial below 25 of them,
  else χ² with Edwards' continuity correction (|b − c| − 1)² / (b + c).
- Newcombe's hybrid score interval for the difference of two paired proportions
  (Newcombe 1998, Stat Med 17:2635, method 10): Wilson limits for each proportion, joined
  with the pairs' correlation. The percentile bootstrap is anti-conservative here when
  few pairs disagree (a handful of discordant items, all one way, looks "significant").
- Paired bootstrap: resample items, keep both variants' answers to each item together;
  for graded scores and for cost.

`Resampler` draws the resampled item counts once, and any number of per-item columns is
summed over them in one matrix product, so every statistic of a task (all variants,
quality, cost, their differences) shares the same resamples: that is what pairs them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from unitcost.errors import InputError

__all__ = [
    "Interval",
    "McNemar",
    "Resampler",
    "bootstrap",
    "is_binary",
    "mcnemar",
    "mcnemar_counts",
    "newcombe_paired",
    "paired_bootstrap",
    "paired_difference",
    "quality_interval",
    "wilson",
]

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class Interval:
    point: float
    low: float
    high: float
    level: float = 0.95
    method: str = ""

    def excludes(self, value: float) -> bool:
        return value < self.low or value > self.high

    def above(self, other: Interval) -> bool:
        """This interval lies wholly above the other: they separate."""
        return self.low > other.high

    def to_dict(self) -> dict[str, float | str]:
        return {
            "point": self.point,
            "low": self.low,
            "high": self.high,
            "level": self.level,
            "method": self.method,
        }


def _z(level: float) -> float:
    if not 0 < level < 1:
        raise InputError(f"level: {level} is not a probability; accepted: 0 < level < 1")
    # the normal quantile by bisection on erf: no SciPy at run time
    target, lo, hi = (1 + level) / 2, 0.0, 10.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if 0.5 * (1 + math.erf(mid / math.sqrt(2))) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def wilson(successes: float, n: int, level: float = 0.95) -> Interval:
    """Wilson's score interval for `successes` out of `n`."""
    if n <= 0:
        return Interval(math.nan, math.nan, math.nan, level, "wilson")
    if not 0 <= successes <= n:
        raise InputError(f"successes: {successes} is not between 0 and n={n}")
    z = _z(level)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if successes == 0 else max(0.0, centre - half)  # exact ends, no float dust
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Interval(p, low, high, level, "wilson")


def is_binary(scores: ArrayLike) -> bool:
    arr = np.asarray(scores, dtype=float)
    return bool(np.all((arr == 0) | (arr == 1)))


class Resampler:
    """Bootstrap resamples of `n` items: `sums(columns)` is each resample's column sums."""

    def __init__(self, n: int, resamples: int = 1000, seed: int = 0, chunk: int = 100) -> None:
        if n < 1 or resamples < 1:
            raise InputError(f"bootstrap: needs n ≥ 1 and resamples ≥ 1 (got {n}, {resamples})")
        self.n, self.resamples, self.seed, self.chunk = n, resamples, seed, chunk

    def sums(self, columns: Floats) -> Floats:
        """(resamples, k) sums of the (n, k) columns over each resample of the items."""
        cols = np.asarray(columns, dtype=np.float64)
        if cols.ndim == 1:
            cols = cols[:, None]
        if cols.shape[0] != self.n:
            raise InputError(f"bootstrap: {cols.shape[0]} values for {self.n} items")
        rng = np.random.default_rng(self.seed)  # the same seed: the same resamples, paired
        out = np.empty((self.resamples, cols.shape[1]))
        for start in range(0, self.resamples, self.chunk):
            b = min(self.chunk, self.resamples - start)
            picks = rng.integers(0, self.n, size=(b, self.n))
            # how often each item was drawn in each resample, then one matrix product
            offsets = (picks + (np.arange(b) * self.n)[:, None]).ravel()
            counts = np.bincount(offsets, minlength=b * self.n).reshape(b, self.n)
            out[start : start + b] = counts @ cols
        return out


def _percentile(point: float, draws: Floats, level: float, method: str) -> Interval:
    draws = draws[np.isfinite(draws)]
    if not draws.size or not math.isfinite(point):
        return Interval(point, math.nan, math.nan, level, method)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return Interval(point, float(low), float(high), level, method)


def bootstrap(
    columns: Sequence[ArrayLike],
    statistic: Callable[[Floats], Floats],
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Percentile interval of `statistic(sums)`, where sums[..., j] is column j's sum.

    `statistic` gets the full sample's sums as a 1-d array and the resamples' as a
    (resamples, k) array, so a ratio of sums (cost per correct answer) is one expression.
    """
    cols = np.column_stack([np.asarray(c, dtype=np.float64) for c in columns])
    point = float(statistic(cols.sum(axis=0)))
    draws = statistic(Resampler(cols.shape[0], resamples, seed).sums(cols))
    return _percentile(point, np.asarray(draws, dtype=np.float64), level, "bootstrap")


def quality_interval(
    scores: ArrayLike, resamples: int = 1000, level: float = 0.95, seed: int = 0
) -> Interval:
    """Wilson when every score is 0 or 1, else the bootstrap of the mean."""
    arr = np.asarray(scores, dtype=float)
    if is_binary(arr):
        return wilson(float(arr.sum()), arr.size, level)
    n = arr.size
    return bootstrap([arr], lambda s: s[..., 0] / n, resamples, level, seed)


def paired_bootstrap(
    a: ArrayLike, b: ArrayLike, resamples: int = 1000, level: float = 0.95, seed: int = 0
) -> Interval:
    """Interval of mean(a) − mean(b) over the same items, resampled together."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise InputError(f"paired_bootstrap: {x.size} and {y.size} items; pairs need the same")
    n = x.size
    out = bootstrap([x, y], lambda s: (s[..., 0] - s[..., 1]) / n, resamples, level, seed)
    return Interval(out.point, out.low, out.high, level, "paired bootstrap")


def newcombe_paired(
    both: int, only_a: int, only_b: int, neither: int, level: float = 0.95
) -> Interval:
    """Interval of p_a − p_b for paired 0/1 outcomes from the four cells of their table."""
    cells = (both, only_a, only_b, neither)
    if min(cells) < 0:
        raise InputError(f"newcombe_paired: counts must be ≥ 0 (got {cells})")
    n = sum(cells)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, level, "newcombe")
    pa, pb = (both + only_a) / n, (both + only_b) / n
    wa, wb = wilson(both + only_a, n, level), wilson(both + only_b, n, level)
    margins = (both + only_a) * (only_b + neither) * (both + only_b) * (only_a + neither)
    cross = both * neither - only_a * only_b
    # Newcombe's correction of the correlation: shrink a positive one by n/2, else keep
    corrected = cross - n / 2 if cross > n / 2 else (cross if cross < 0 else 0.0)
    phi = corrected / math.sqrt(margins) if margins else 0.0
    da, ua = pa - wa.low, wa.high - pa
    db, ub = pb - wb.low, wb.high - pb
    low = pa - pb - math.sqrt(max(0.0, da * da - 2 * phi * da * ub + ub * ub))
    high = pa - pb + math.sqrt(max(0.0, db * db - 2 * phi * db * ua + ua * ua))
    return Interval(pa - pb, max(-1.0, low), min(1.0, high), level, "newcombe")


def paired_difference(
    a: ArrayLike, b: ArrayLike, resamples: int = 1000, level: float = 0.95, seed: int = 0
) -> Interval:
    """mean(a) − mean(b) on the same items: Newcombe for 0/1 scores, else paired bootstrap."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise InputError(f"paired: {x.size} and {y.size} items; pairs need the same items")
    if is_binary(x) and is_binary(y):
        return newcombe_paired(
            int(((x == 1) & (y == 1)).sum()),
            int(((x == 1) & (y == 0)).sum()),
            int(((x == 0) & (y == 1)).sum()),
            int(((x == 0) & (y == 0)).sum()),
            level,
        )
    return paired_bootstrap(x, y, resamples, level, seed)


@dataclass(frozen=True)
class McNemar:
    b: int  # a right, b wrong
    c: int  # a wrong, b right
    statistic: float
    p_value: float
    method: str

    def significant(self, alpha: float = 0.05) -> bool:
        return self.p_value < alpha


def mcnemar_counts(b: int, c: int, exact: bool | None = None, correction: bool = True) -> McNemar:
    """McNemar's test from the two discordant counts of a paired 2×2 table.

    Exact (binomial, two-sided) below 25 discordant pairs unless `exact` says otherwise;
    else χ² on one degree of freedom, with Edwards' continuity correction by default.
    """
    if b < 0 or c < 0:
        raise InputError(f"mcnemar: counts must be ≥ 0 (got b={b}, c={c})")
    n = b + c
    if n == 0:
        return McNemar(b, c, 0.0, 1.0, "no discordant pairs")
    if exact if exact is not None else n < 25:
        k = min(b, c)
        tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
        return McNemar(b, c, float(k), min(1.0, 2 * tail), "exact binomial")
    gap = max(0, abs(b - c) - 1) if correction else abs(b - c)
    stat = gap**2 / n
    how = "chi-square, continuity corrected" if correction else "chi-square"
    # χ² with one degree of freedom: P(X > x) = erfc(√(x/2))
    return McNemar(b, c, stat, math.erfc(math.sqrt(stat / 2)), how)


def mcnemar(a: ArrayLike, b: ArrayLike, exact: bool | None = None) -> McNemar:
    """McNemar's test for two variants' 0/1 scores on the same items."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape or not (is_binary(x) and is_binary(y)):
        raise InputError("mcnemar: needs two equally long arrays of 0/1 scores on the same items")
    return mcnemar_counts(int(((x == 1) & (y == 0)).sum()), int(((x == 0) & (y == 1)).sum()), exact)
