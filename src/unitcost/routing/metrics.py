"""Router metrics exactly as RouteLLM defines them (lm-sys/RouteLLM, routellm/evals).

    curve = threshold_curve(scores, weak_correct, strong_correct)   # (strong %, accuracy %)
    apgr(curve, weak_acc, strong_acc); cpt(curve, 0.5, weak_acc, strong_acc)

- Thresholds are the edges of `num_results` equal-count bins of the router's scores; a query
  goes to the strong model when its score ≥ the threshold (> for the last edge).
- PGR = (accuracy − weak) / (strong − weak); APGR is the area under accuracy over strong-call
  share (trapezoids), with the weak and strong lines' areas over the same points as 0 and 1.
- CPT(x%) interpolates the strong-call % at which accuracy recovers x% of the gap.
- The oracle sends to the strong model only queries the weak one gets wrong and it gets right;
  with scores other than 0/1 it sends the queries with the largest gain first.
- Where the strong model is no better than the weak on a set (small splits can do that),
  APGR and CPT are NaN: there is no gap to recover.

Accuracy here is the mean score × `unit` (100 for 0/1 shares, as %, 1 for points).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Curve", "apgr", "cpt", "optimal_curve", "random_scores", "threshold_curve"]


@dataclass(frozen=True)
class Curve:
    strong_pct: NDArray[np.float64]  # % of calls to the strong model
    accuracy: NDArray[np.float64]  # %
    thresholds: NDArray[np.float64]
    cost: NDArray[np.float64] | None = None  # $ for the whole set at each point


def threshold_curve(
    scores: NDArray[Any],
    weak: NDArray[Any],
    strong: NDArray[Any],
    num_results: int = 10,
    weak_cost: NDArray[Any] | None = None,
    strong_cost: NDArray[Any] | None = None,
    unit: float = 100.0,
) -> Curve:
    edges = np.quantile(scores, np.linspace(0, 1, num_results + 1))  # pandas.qcut's bins
    points = []
    for i, t in enumerate(edges):
        to_strong = scores >= t if i != len(edges) - 1 else scores > t
        acc = np.where(to_strong, strong, weak).mean() * unit
        cost = None
        if weak_cost is not None and strong_cost is not None:
            cost = float(np.where(to_strong, strong_cost, weak_cost).sum())
        points.append((to_strong.mean() * 100, acc, t, cost))
    points.sort(key=lambda p: p[0])
    strong_pct, accuracy, thresholds, costs = zip(*points, strict=True)
    return Curve(
        np.asarray(strong_pct),
        np.asarray(accuracy),
        np.asarray(thresholds),
        None if costs[0] is None else np.asarray(costs, dtype=float),
    )


def _trapz(y: NDArray[Any], x: NDArray[Any]) -> float:
    return float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(x)))


def apgr(curve: Curve, weak_acc: float, strong_acc: float) -> float:
    x = curve.strong_pct / 100
    auc = _trapz(curve.accuracy, x)
    weak_auc = _trapz(np.full_like(x, weak_acc), x)
    strong_auc = _trapz(np.full_like(x, strong_acc), x)
    if strong_auc - weak_auc <= 1e-12:
        return float("nan")
    return (auc - weak_auc) / (strong_auc - weak_auc)


def cpt(curve: Curve, pct: float, weak_acc: float, strong_acc: float) -> float:
    """% of strong calls needed to recover `pct` of the weak→strong accuracy gap."""
    if strong_acc - weak_acc <= 1e-12:
        return float("nan")
    target = pct * (strong_acc - weak_acc) + weak_acc
    # the first point of the curve that reaches the target, interpolated from the one before
    reached = np.flatnonzero(curve.accuracy >= target - 1e-12)
    if not len(reached):
        return float("nan")
    i = int(reached[0])
    if i == 0:
        return float(curve.strong_pct[0])
    a0, a1 = curve.accuracy[i - 1], curve.accuracy[i]
    p0, p1 = curve.strong_pct[i - 1], curve.strong_pct[i]
    return float(p0 + (target - a0) / (a1 - a0) * (p1 - p0)) if a1 != a0 else float(p1)


def random_scores(n: int, seed: int = 0) -> NDArray[np.float64]:
    rng = random.Random(seed)
    return np.asarray([rng.uniform(0, 1) for _ in range(n)])


def optimal_curve(
    weak: NDArray[Any], strong: NDArray[Any], steps: int = 10, unit: float = 100.0
) -> Curve:
    """Strong calls spent on the queries that gain most first (for 0/1: only where the weak
    model is wrong and the strong one right), at `steps` + 1 evenly spaced shares."""
    n = len(weak)
    gains = np.sort(np.maximum(np.asarray(strong, float) - np.asarray(weak, float), 0.0))[::-1]
    best = np.concatenate([[0.0], np.cumsum(gains)])  # best total gain with k strong calls
    pct = np.linspace(0, 100, steps + 1)
    k = pct / 100 * n
    lo = np.floor(k).astype(int)
    frac = k - lo
    hi = np.minimum(lo + 1, n)
    gained = best[lo] + frac * (best[hi] - best[lo])
    acc = (float(np.sum(weak)) + gained) / max(n, 1) * unit
    return Curve(pct, acc, pct)
