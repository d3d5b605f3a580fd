"""Bootstrap intervals for router metrics, and the length-only and random baselines.

    band = bootstrap(lambda i: apgr_of(scores[i], weak[i], strong[i]), n=len(scores))
    band.low, band.high            # 90% percentile interval over resampled queries
    paired = bootstrap(lambda i: apgr_of(a[i], w[i], s[i]) - apgr_of(b[i], w[i], s[i]), n)

Resampling is of queries, with replacement, the same draws for every router compared (a
paired bootstrap), so an interval on a difference reflects the routers' disagreement and
not the luck of the draw that both share. Seeded: the same call gives the same interval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unitcost.routing.metrics import apgr, cpt, threshold_curve

__all__ = ["Band", "apgr_of", "bootstrap", "cpt_of", "length_scores"]


@dataclass(frozen=True)
class Band:
    value: float  # on the full set
    low: float
    high: float
    level: float = 0.9

    def excludes(self, x: float) -> bool:
        return bool(self.low > x or self.high < x)

    def to_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high, "level": self.level}

    def __str__(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"


def bootstrap(
    stat: Callable[[NDArray[np.int64]], float],
    n: int,
    reps: int = 1000,
    level: float = 0.9,
    seed: int = 0,
) -> Band:
    """`stat(index)` on the whole set and on `reps` resamples; NaN resamples are skipped."""
    rng = np.random.default_rng(seed)
    values = np.asarray([stat(rng.integers(0, n, n)) for _ in range(reps)], dtype=float)
    values = values[np.isfinite(values)]
    whole = stat(np.arange(n))
    if not len(values):
        return Band(whole, float("nan"), float("nan"), level)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return Band(float(whole), float(low), float(high), level)


def _unit(weak: NDArray[Any], strong: NDArray[Any]) -> float:
    both = np.concatenate([weak, strong])
    return 100.0 if ((both >= 0) & (both <= 1)).all() else 1.0


def apgr_of(
    scores: NDArray[Any], weak: NDArray[Any], strong: NDArray[Any], bins: int = 10
) -> float:
    unit = _unit(weak, strong)
    curve = threshold_curve(scores, weak, strong, bins, unit=unit)
    return apgr(curve, float(weak.mean() * unit), float(strong.mean() * unit))


def cpt_of(
    scores: NDArray[Any], weak: NDArray[Any], strong: NDArray[Any], pct: float, bins: int = 10
) -> float:
    unit = _unit(weak, strong)
    curve = threshold_curve(scores, weak, strong, bins, unit=unit)
    return cpt(curve, pct, float(weak.mean() * unit), float(strong.mean() * unit))


def length_scores(prompts: list[str], sign: float = 1.0) -> NDArray[np.float64]:
    """The length-only router: longer prompts (characters) go to the strong model first
    (`sign` −1 reverses it). Ties are broken by position, never by content."""
    n = len(prompts)
    return sign * np.asarray([len(p) for p in prompts], dtype=float) + np.arange(n) * 1e-9
