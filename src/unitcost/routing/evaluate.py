"""`unitcost route-eval`: train a router on some groups (subjects), judge it on unseen ones.

    result = route_eval(load_outcomes(path), weak="...", strong="...", test_fraction=0.25)
    result.metrics["learned"]["APGR"], result.saving["saving_pct"]

Against the same held-out queries it reports the random router and the oracle, RouteLLM's
APGR, CPT(50%) and CPT(80%), and the dollars saved at 95% of the strong model's quality.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import numpy as np

from unitcost.errors import InputError
from unitcost.routing.datasets import Outcomes
from unitcost.routing.embeddings import Embedder
from unitcost.routing.learned import LearnedRouter, embed_cached, prompt_lengths, train_router
from unitcost.routing.metrics import (
    Curve,
    apgr,
    cpt,
    optimal_curve,
    random_scores,
    threshold_curve,
)

__all__ = ["RouteEval", "route_eval", "split_by_group"]


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "weak": self.weak,
            "strong": self.strong,
            "train_groups": self.train_groups,
            "test_groups": self.test_groups,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "weak_accuracy": self.weak_acc,
            "strong_accuracy": self.strong_acc,
            "metrics": self.metrics,
            "saving": self.saving,
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


def route_eval(
    data: Outcomes,
    weak: str,
    strong: str,
    *,
    test_fraction: float = 0.25,
    seed: int = 0,
    split: str = "group",
    num_results: int = 10,
    embedder: Embedder | None = None,
    quality_target: float = 0.95,
) -> RouteEval:
    data.require(weak, strong)
    if split == "group":
        train_groups, test_groups = split_by_group(data, test_fraction, seed)
        test_mask = np.asarray([g in set(test_groups) for g in data.groups])
    elif split == "random":
        rng = np.random.default_rng(seed)
        test_mask = rng.random(len(data)) < test_fraction
        train_groups = test_groups = sorted(set(data.groups))
    else:
        raise InputError(f"--split: {split!r} is not one of group, random")
    train_idx, test_idx = np.flatnonzero(~test_mask), np.flatnonzero(test_mask)
    train, test = data.subset(train_idx), data.subset(test_idx)
    embedder = embedder or Embedder()
    vectors = embed_cached(embedder, data.prompts)
    router = train_router(train, weak, strong, embedder, vectors=vectors[train_idx])
    w, s = test.scores[weak], test.scores[strong]
    weak_acc, strong_acc = float(w.mean() * 100), float(s.mean() * 100)
    wc, sc = test.costs.get(weak), test.costs.get(strong)
    learned_scores = router.predict(vectors[test_idx], prompt_lengths(test.prompts))
    curves = {
        "random": threshold_curve(random_scores(len(test), seed), w, s, num_results, wc, sc),
        "learned": threshold_curve(learned_scores, w, s, num_results, wc, sc),
        "oracle": optimal_curve(w, s, num_results),
    }
    metrics = {}
    for name, curve in curves.items():
        metrics[name] = {
            "APGR": apgr(curve, weak_acc, strong_acc),
            "CPT(50%)": cpt(curve, 0.5, weak_acc, strong_acc),
            "CPT(80%)": cpt(curve, 0.8, weak_acc, strong_acc),
        }
    saving = _saving(learned_scores, w, s, wc, sc, quality_target, data.cost_source)
    return RouteEval(
        data.name,
        weak,
        strong,
        train_groups,
        test_groups,
        len(train),
        len(test),
        weak_acc,
        strong_acc,
        curves,
        metrics,
        saving,
        router,
    )


def _saving(
    scores: np.ndarray,
    w: np.ndarray,
    s: np.ndarray,
    wc: np.ndarray | None,
    sc: np.ndarray | None,
    target: float,
    source: str,
) -> dict[str, Any]:
    """Cheapest routing of the held-out queries that keeps `target` of strong's quality."""
    if wc is None or sc is None:
        return {"note": "the data has no costs for this pair"}
    goal = target * s.mean()
    best = None
    for t in np.unique(np.concatenate([scores, [np.inf]])):  # every distinct cut, all-weak included
        to_strong = scores >= t
        if np.where(to_strong, s, w).mean() >= goal:
            cost = float(np.where(to_strong, sc, wc).sum())
            if best is None or cost < best[0]:
                best = (cost, float(to_strong.mean() * 100))
    all_strong = float(sc.sum())
    if best is None:
        return {"note": f"no threshold reaches {target:.0%} of the strong model's quality"}
    return {
        "target_accuracy": float(goal * 100),
        "strong_pct": best[1],
        "cost_router": best[0],
        "cost_all_strong": all_strong,
        "saving_pct": (1 - best[0] / all_strong) * 100,
        "cost_source": source,
    }
