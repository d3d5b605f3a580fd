"""The cost–quality frontier, and whether a router beats the random mix of its members.

    points = frontier(task_result)        # each variant: on the frontier, or dominated by whom
    mix = beats_random_mix(weak, strong, routed)   # ItemOutcomes on the same items
    mix.delta, mix.ci                     # routed quality − the mix's at the routed cost

**Dominance with intervals.** Variant B dominates A when B costs no more per task and scores
no less (point estimates), and on at least one of the two the paired interval of B − A
on the same items (Newcombe's for 0/1 quality, the paired bootstrap otherwise) excludes
zero. A variant that is only worse by point
estimates is *not* dominated: the data cannot tell them apart, and the report says "tied".
A variant whose every call failed is on no frontier and dominates nothing.

**A router against the line between its members.** Sending a random share t of queries to
the strong model and the rest to the weak one costs (1 − t)·c_w + t·c_s and scores
(1 − t)·q_w + t·q_s: the straight line between the two members on the cost–quality plane.
A router earns its keep only above that line. At the router's own cost c_r, t = (c_r − c_w)
/ (c_s − c_w) (clipped to [0, 1]) and delta = q_r − ((1 − t)·q_w + t·q_s). The interval is
a paired bootstrap over items: each resample recomputes all six means, t and delta, so it
accounts for the uncertainty in the line as well as in the router.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from unitcost.errors import InputError
from unitcost.evals.results import TaskResult, VariantResult, compare
from unitcost.evals.statistics import Interval, Resampler

__all__ = ["FrontierPoint", "ItemOutcomes", "MixComparison", "beats_random_mix", "frontier"]

Floats = NDArray[np.float64]


@dataclass
class FrontierPoint:
    variant: str
    cost: Interval  # $ per task
    quality: Interval
    dominated_by: list[str] = field(default_factory=list)
    tied_with: list[str] = field(default_factory=list)  # better by point only
    failed: bool = False  # every call failed: no answer to stand on

    @property
    def on_frontier(self) -> bool:
        return not self.dominated_by and not self.failed


def frontier(task: TaskResult) -> list[FrontierPoint]:
    """Every variant of a task, with who dominates it (intervals separated) or ties it."""
    points = {
        name: FrontierPoint(name, r.cost_per_task, r.quality, failed=_failed(r))
        for name, r in task.variants.items()
    }
    for a_name, a in task.variants.items():
        for b_name, b in task.variants.items():
            # a variant whose every call failed costs nothing and scores 0: it dominates
            # nothing (a working variant that scores 0 is not beaten by a broken one)
            if a_name == b_name or not a.n or not b.n or points[b_name].failed:
                continue
            if not (
                b.cost_per_task.point <= a.cost_per_task.point
                and b.quality.point >= a.quality.point
            ):
                continue
            if (
                b.cost_per_task.point == a.cost_per_task.point
                and b.quality.point == a.quality.point
            ):
                continue
            diff = compare(b, a, task.resamples, task.level, seed=0)
            better = diff.quality_diff.low > 0 or diff.cost_diff.high < 0
            (points[a_name].dominated_by if better else points[a_name].tied_with).append(b_name)
    return list(points.values())


def _failed(r: VariantResult) -> bool:
    return r.errors > 0 and len(r.latency_ms) == 0  # latencies are of answered samples


@dataclass(frozen=True)
class ItemOutcomes:
    """One model's (or route's) score and cost on each item, in the same item order."""

    scores: Floats
    costs: Floats

    @classmethod
    def of(cls, scores: ArrayLike, costs: ArrayLike) -> ItemOutcomes:
        s, c = np.asarray(scores, dtype=float), np.asarray(costs, dtype=float)
        if s.shape != c.shape or s.ndim != 1:
            raise InputError("outcomes: scores and costs need one value per item each")
        return cls(s, c)


@dataclass(frozen=True)
class MixComparison:
    delta: float  # routed quality − the random mix's quality at the routed cost
    ci: Interval
    share: float  # t: the strong model's share in the mix that costs what the router does
    mix_quality: float
    routed_quality: float
    routed_cost: float
    weak: tuple[float, float]  # (cost, quality) per item, means
    strong: tuple[float, float]

    @property
    def beats(self) -> bool:
        return self.ci.low > 0

    @property
    def verdict(self) -> str:
        d = f"{self.delta:+.1%} (95% CI {self.ci.low:+.1%} to {self.ci.high:+.1%})"
        if self.beats:
            return f"beats the random mix of its members: {d} quality at the same cost"
        if self.ci.high < 0:
            return f"does worse than a random mix of its members at the same cost: {d}"
        return f"does not beat a random mix of its members at the same cost: {d}"


def _delta(sums: Floats, n: int) -> tuple[Floats, Floats]:
    qw, cw, qs, cs, qr, cr = (sums[..., k] / n for k in range(6))
    span = cs - cw
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.clip(np.where(span != 0, (cr - cw) / span, 0.0), 0.0, 1.0)
    return qr - ((1 - t) * qw + t * qs), t


def beats_random_mix(
    weak: ItemOutcomes,
    strong: ItemOutcomes,
    routed: ItemOutcomes,
    resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> MixComparison:
    """Does `routed` score above the line between `weak` and `strong` at its own cost?"""
    n = weak.scores.size
    if not n or any(o.scores.size != n for o in (strong, routed)):
        raise InputError("beats_random_mix: weak, strong and routed need the same items")
    cols = np.column_stack(
        [weak.scores, weak.costs, strong.scores, strong.costs, routed.scores, routed.costs]
    )
    point, share = _delta(cols.sum(axis=0), n)
    draws, _ = _delta(Resampler(n, resamples, seed).sums(cols), n)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail]) if draws.size else (math.nan, math.nan)
    mean = cols.mean(axis=0)
    return MixComparison(
        delta=float(point),
        ci=Interval(float(point), float(low), float(high), level, "paired bootstrap"),
        share=float(share),
        mix_quality=float(mean[4] - point),
        routed_quality=float(mean[4]),
        routed_cost=float(mean[5]),
        weak=(float(mean[1]), float(mean[0])),
        strong=(float(mean[3]), float(mean[2])),
    )
