"""`unitcost route-eval`: train a router on some groups, judge it on unseen ones, or judge a
saved router on any dataset without retraining.

    result = route_eval(load_outcomes(path), weak="...", strong="...", test_fraction=0.25)
    result = route_eval(data, weak, strong, router=LearnedRouter.load("router.json"))
    result.metrics["learned"]["APGR"], result.bands["learned"], result.saving["saving_pct"]

Against the same held-out queries it reports the random router, the length-only router
(longer prompts to the strong model; its direction taken from the training split) and the
oracle, with RouteLLM's APGR, CPT(50%) and CPT(80%), and the dollars saved at 95% of the
strong model's quality. That saving uses a threshold chosen on training prompts only (the
split's training part, or the saved router's own training curve) and carries a bootstrap
interval over the test queries; so do the APGRs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unitcost.errors import InputError
from unitcost.routing.datasets import Outcomes
from unitcost.routing.intervals import Band, apgr_of, bootstrap, length_scores
from unitcost.routing.learned import (
    LearnedRouter,
    TrainingSet,
    default_featurizer,
    strong_needed,
    train_router,
)
from unitcost.routing.metrics import (
    Curve,
    apgr,
    cpt,
    optimal_curve,
    random_scores,
    threshold_curve,
)

__all__ = ["RouteEval", "route_eval", "saving_at", "split_by_group"]


@dataclass
class RouteEval:
    dataset: str
    weak: str
    strong: str
    train_groups: list[str]
    test_groups: list[str]
    n_train: int
    n_test: int
    weak_acc: float
    strong_acc: float
    curves: dict[str, Curve]
    metrics: dict[str, dict[str, float]]
    saving: dict[str, Any]
    router: LearnedRouter
    unit: str = "%"  # "%" for 0/1 shares, "points" for other score scales
    bands: dict[str, Band] = field(default_factory=dict)  # APGR intervals and differences
    saved_router: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "weak": self.weak,
            "strong": self.strong,
            "train_groups": self.train_groups,
            "test_groups": self.test_groups,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "unit": self.unit,
            "weak_accuracy": self.weak_acc,
            "strong_accuracy": self.strong_acc,
            "metrics": self.metrics,
            "apgr_bands": {k: b.to_dict() for k, b in self.bands.items()},
            "saving": self.saving,
            "saved_router": self.saved_router,
            "curves": {
                k: {"strong_pct": c.strong_pct.tolist(), "accuracy": c.accuracy.tolist()}
                for k, c in self.curves.items()
            },
        }


def split_by_group(data: Outcomes, test_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    groups = sorted(set(data.groups))
    if len(groups) < 4:
        raise InputError(
            f"{data.name} has {len(groups)} groups; a split by group needs at least 4 "
            "(use --split random)"
        )
    rng = random.Random(seed)
    shuffled = groups[:]
    rng.shuffle(shuffled)
    n_test = max(1, round(len(groups) * test_fraction))
    return sorted(shuffled[n_test:]), sorted(shuffled[:n_test])


def _split(
    data: Outcomes, split: str, test_fraction: float, seed: int
) -> tuple[NDArray[np.bool_], list[str], list[str]]:
    if not 0 < test_fraction < 1:
        raise InputError(f"--test-fraction: {test_fraction} is not between 0 and 1")
    if split == "group":
        train_groups, test_groups = split_by_group(data, test_fraction, seed)
        test_mask = np.asarray([g in set(test_groups) for g in data.groups])
    elif split == "random":
        test_mask = np.random.default_rng(seed).random(len(data)) < test_fraction
        train_groups = test_groups = sorted(set(data.groups))
    else:
        raise InputError(f"--split: {split!r} is not one of group, random")
    n_test = int(test_mask.sum())
    if n_test < 2 or len(data) - n_test < 2:
        raise InputError(
            f"{data.name}: the split leaves {len(data) - n_test} training and {n_test} test "
            f"prompts; each needs at least 2 (change --test-fraction or --seed)"
        )
    return test_mask, train_groups, test_groups


def route_eval(
    data: Outcomes,
    weak: str,
    strong: str,
    *,
    test_fraction: float = 0.25,
    seed: int = 0,
    split: str = "group",
    num_results: int = 10,
    quality_target: float = 0.95,
    router: LearnedRouter | None = None,
    features: NDArray[np.float64] | None = None,
    reps: int = 500,
) -> RouteEval:
    """Train on a split and test on the rest, or (`router` given) test a saved router on
    all of `data`. `features`: the featurizer's rows for `data`, if already computed."""
    data.require(weak, strong)
    x = default_featurizer()(data.prompts) if features is None else features
    if router is None:
        test_mask, train_groups, test_groups = _split(data, split, test_fraction, seed)
        train = data.subset(np.flatnonzero(~test_mask))
        router = train_router([TrainingSet(train, [(weak, strong)])], features=[x[~test_mask]])
        train_scores = router.predict(x[~test_mask])
        cut = _training_threshold(train, weak, strong, train_scores, quality_target)
        lengths = np.log1p([len(p) for p in train.prompts])
        label = strong_needed(train, weak, strong)
        sign = 1.0 if np.corrcoef(lengths, label)[0, 1] >= 0 or label.std() == 0 else -1.0
    else:
        test_mask = np.ones(len(data), dtype=bool)
        train, train_groups, test_groups = None, [], sorted(set(data.groups))
        cut = router.threshold(relative_quality=quality_target)
        sign = 1.0
    test = data.subset(np.flatnonzero(test_mask))
    unit = 100.0 if data.percent else 1.0
    w, s = test.scores[weak], test.scores[strong]
    weak_acc, strong_acc = float(w.mean() * unit), float(s.mean() * unit)
    wc, sc = test.costs.get(weak), test.costs.get(strong)
    scores = {
        "random": random_scores(len(test), seed),
        "length": length_scores(test.prompts, sign),
        "learned": router.predict(x[test_mask]),
    }
    curves = {
        name: threshold_curve(v, w, s, num_results, wc, sc, unit=unit) for name, v in scores.items()
    }
    curves["oracle"] = optimal_curve(w, s, num_results, unit=unit)
    metrics = {
        name: {
            "APGR": apgr(c, weak_acc, strong_acc),
            "CPT(50%)": cpt(c, 0.5, weak_acc, strong_acc),
            "CPT(80%)": cpt(c, 0.8, weak_acc, strong_acc),
        }
        for name, c in curves.items()
    }
    learned, length = scores["learned"], scores["length"]
    n = len(test)
    bands = {
        "learned": bootstrap(lambda i: apgr_of(learned[i], w[i], s[i]), n, reps),
        "length": bootstrap(lambda i: apgr_of(length[i], w[i], s[i]), n, reps),
        "learned - length": bootstrap(
            lambda i: apgr_of(learned[i], w[i], s[i]) - apgr_of(length[i], w[i], s[i]), n, reps
        ),
    }
    saving = saving_at(learned >= cut, w, s, wc, sc, quality_target, data.cost_source, reps)
    saving["threshold"] = float(cut)
    saving["threshold_from"] = "training prompts" if train is not None else "the router's training"
    return RouteEval(
        data.name,
        weak,
        strong,
        train_groups,
        test_groups,
        0 if train is None else len(train),
        n,
        weak_acc,
        strong_acc,
        curves,
        metrics,
        saving,
        router,
        "%" if unit == 100.0 else "points",
        bands,
        train is None,
    )


def _training_threshold(
    train: Outcomes, weak: str, strong: str, scores: NDArray[np.float64], target: float
) -> float:
    """The cheapest cut on the training prompts that keeps `target` of strong's quality
    there (by strong-call share where the data has no costs)."""
    w, s = train.scores[weak], train.scores[strong]
    wc, sc = train.costs.get(weak), train.costs.get(strong)
    best: tuple[float, float] | None = None
    for t in np.unique(np.concatenate([scores, [np.inf]])):
        to_strong = scores >= t
        if np.where(to_strong, s, w).mean() < target * s.mean() - 1e-12:
            continue
        spend = (
            float(np.where(to_strong, sc, wc).sum())
            if wc is not None and sc is not None
            else float(to_strong.mean())
        )
        if best is None or spend < best[0]:
            best = (spend, float(t))
    return -np.inf if best is None else best[1]


def saving_at(
    to_strong: NDArray[np.bool_],
    w: NDArray[np.float64],
    s: NDArray[np.float64],
    wc: NDArray[np.float64] | None,
    sc: NDArray[np.float64] | None,
    target: float,
    source: str,
    reps: int = 500,
) -> dict[str, Any]:
    """What routing `to_strong` costs and keeps of strong's quality on these queries, with a
    bootstrap interval on the saving against always-strong."""
    quality = float(np.where(to_strong, s, w).mean() / s.mean()) if s.mean() else float("nan")
    out: dict[str, Any] = {
        "target_relative_quality": target,
        "relative_quality": quality,
        "strong_pct": float(to_strong.mean() * 100),
    }
    if wc is None or sc is None:
        out["note"] = "the data has no costs for this pair"
        return out
    routed, all_strong = np.where(to_strong, sc, wc), sc

    def pct_saved(i: NDArray[np.int64]) -> float:
        total = float(all_strong[i].sum())
        return (1 - float(routed[i].sum()) / total) * 100 if total > 0 else float("nan")

    band = bootstrap(pct_saved, len(w), reps)
    out.update(
        cost_router=float(routed.sum()),
        cost_all_strong=float(all_strong.sum()),
        saving_pct=band.value,
        saving_band=band.to_dict(),
        cost_source=source,
    )
    return out
