"""The learned router: how likely is the weak model's answer to fall short of the strong one's?

    router = LearnedRouter.load()                  # shipped: MMLU, GPQA and AIME outcomes
    p = router.score("Which is a prime? A. 4 B. 6 C. 7 D. 9")   # calibrated P(strong needed)
    router.threshold(strong_share=0.3)             # route ~30% of traffic to strong
    router.threshold(relative_quality=0.95)        # keep 95% of strong's quality (training)

The prompt is read whole by `PromptFeaturizer` (pooled static MiniLM vectors of the whole
prompt, its head and its tail, and its structure and length) and scored by a logistic
regression trained on per-query outcomes of one or more datasets. A dataset with several
models (pricing-reversal) gives a soft label: the share of its (cheaper, better) model
pairs where the better model scored higher. Features are centred per dataset and group
(subject) before fitting and each dataset weighs the same, so the classifier learns what
makes a question hard *within* a dataset rather than which dataset or template it came
from; at run time a shared template only shifts every score alike, which leaves the
ranking (and a share-based threshold) unchanged. The output is calibrated by Platt scaling
on out-of-fold scores of the training prompts, and every threshold is read off training
prompts only. How much the pooled vectors may weigh against the structure features, and the
L2 penalty, are chosen by inner validation on the training data (each training dataset
left out in turn), never on the data a router is judged on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unitcost.errors import InputError
from unitcost.routing.classifier import LogisticRegression
from unitcost.routing.datasets import Outcomes
from unitcost.routing.features import STRUCTURE, PromptFeaturizer

__all__ = [
    "DEFAULT_ROUTER",
    "LearnedRouter",
    "TrainingSet",
    "default_featurizer",
    "outcome_pairs",
    "select_recipe",
    "strong_needed",
    "train_router",
]

DEFAULT_ROUTER = "router-default.json"
FORMAT = 2


@cache
def default_featurizer() -> PromptFeaturizer:
    return PromptFeaturizer()


def strong_needed(data: Outcomes, weak: str, strong: str) -> NDArray[np.float64]:
    return (data.scores[strong] > data.scores[weak]).astype(np.float64)


def outcome_pairs(data: Outcomes) -> list[tuple[str, str]]:
    """(weak, strong) pairs of a dataset: the strong one scores higher on average and,
    where the data has costs, costs more in total."""
    pairs = []
    for w in sorted(data.scores):
        for s in sorted(data.scores):
            if data.scores[s].mean() <= data.scores[w].mean():
                continue
            if w in data.costs and s in data.costs and data.costs[s].sum() <= data.costs[w].sum():
                continue
            pairs.append((w, s))
    return pairs


@dataclass
class TrainingSet:
    """One dataset's outcomes and the model pairs whose comparisons label its prompts."""

    data: Outcomes
    pairs: list[tuple[str, str]]

    def __post_init__(self) -> None:
        if not self.pairs:
            raise InputError(f"{self.data.name}: no (weak, strong) pair to learn from")
        self.data.require(*(m for pair in self.pairs for m in pair))

    def labels(self) -> NDArray[np.float64]:
        """Share of pairs where the strong model scored higher (0/1 for one pair)."""
        rows = [strong_needed(self.data, w, s) for w, s in self.pairs]
        return np.asarray(np.mean(rows, axis=0), dtype=np.float64)

    def gains(self) -> NDArray[np.float64]:
        """Mean score gained per prompt by sending it to the strong model."""
        rows = [self.data.scores[s] - self.data.scores[w] for w, s in self.pairs]
        return np.asarray(np.mean(rows, axis=0), dtype=np.float64)

    def relative(self, to_strong: NDArray[np.bool_]) -> float:
        """Routed quality over strong's, averaged over the pairs."""
        ratios = []
        for w, s in self.pairs:
            ws, ss = self.data.scores[w], self.data.scores[s]
            ratios.append(float(np.where(to_strong, ss, ws).mean() / ss.mean()))
        return float(np.mean(ratios))


@dataclass(frozen=True)
class LearnedRouter:
    classifier: LogisticRegression
    scale: NDArray[np.float64]  # each feature is divided by this before the classifier
    calibration: tuple[float, float]  # Platt: P = sigmoid(a · logit + b)
    quantiles: list[float]  # calibrated score at each percentile 0..100 over training prompts
    gap_recovered: list[float]  # training PGR when routing at or above each quantile
    relative_quality: list[float]  # training quality ÷ strong's at each quantile
    meta: dict[str, Any] = field(default_factory=dict)

    def logits(self, features: NDArray[np.float64]) -> NDArray[np.float64]:
        x = features / self.scale
        raw: NDArray[np.float64] = np.asarray(
            x @ self.classifier.weights + self.classifier.bias, dtype=np.float64
        )
        return raw

    def predict(self, features: NDArray[np.float64]) -> NDArray[np.float64]:
        """Calibrated P(strong needed) for rows of `PromptFeaturizer` features."""
        a, b = self.calibration
        p: NDArray[np.float64] = 1.0 / (1.0 + np.exp(-(a * self.logits(features) + b)))
        return p

    def scores(self, prompts: list[str]) -> NDArray[np.float64]:
        return self.predict(default_featurizer()(prompts))

    def score(self, prompt: str) -> float:
        return float(self.scores([prompt])[0])

    def threshold(
        self,
        strong_share: float | None = None,
        target_quality: float | None = None,
        relative_quality: float | None = None,
    ) -> float:
        """The score at or above which a prompt goes to the strong model: for a share of
        strong calls, a share of the weak→strong gap (PGR), or a share of strong's quality,
        each read off the training prompts."""
        given = [v for v in (strong_share, target_quality, relative_quality) if v is not None]
        if len(given) != 1:
            raise InputError(
                "learned route: give exactly one of strong_share, target_quality, relative_quality"
            )
        if strong_share is not None:
            return float(np.percentile(self.quantiles, 100 * (1 - strong_share)))
        curve = self.gap_recovered if target_quality is not None else self.relative_quality
        goal = given[0]
        # the highest threshold (fewest strong calls) that reaches the goal in training
        for q in range(100, -1, -1):
            if curve[q] >= goal:
                return self.quantiles[q]
        return self.quantiles[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "classifier": self.classifier.to_dict(),
            "scale": [float(v) for v in self.scale],
            "calibration": list(self.calibration),
            "quantiles": self.quantiles,
            "gap_recovered": self.gap_recovered,
            "relative_quality": self.relative_quality,
            "meta": self.meta,
        }

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path | None = None) -> LearnedRouter:
        return _load(str(path) if path else None)


@cache
def _load(path: str | None) -> LearnedRouter:
    if path is None:
        text = (resources.files("unitcost") / "data" / DEFAULT_ROUTER).read_text(encoding="utf-8")
    else:
        p = Path(path)
        if not p.is_file():
            raise InputError(
                f"router file {path!r} does not exist; make one with "
                "`unitcost route-eval --save-router PATH`"
            )
        text = p.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"router file {path!r} is not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(
            f"router file {path!r}: format {data.get('format') if isinstance(data, dict) else None!r}"
            f" is not {FORMAT} (routers saved before the whole-prompt features); "
            "retrain with `unitcost route-eval --save-router PATH`"
        )
    return LearnedRouter(
        LogisticRegression.from_dict(data["classifier"]),
        np.asarray(data["scale"], dtype=np.float64),
        (float(data["calibration"][0]), float(data["calibration"][1])),
        data["quantiles"],
        data["gap_recovered"],
        data["relative_quality"],
        data.get("meta", {}),
    )


def _centred(x: NDArray[np.float64], keys: list[str]) -> NDArray[np.float64]:
    out = x.copy()
    labels = np.asarray(keys)
    for key in np.unique(labels):
        rows = labels == key
        out[rows] -= out[rows].mean(axis=0)
    return out


#: (weight of the pooled-vector block, L2 penalty) that `select_recipe` chooses among
RECIPES = ((0.0, 10.0), (0.1, 10.0), (0.3, 10.0), (0.3, 100.0))


def _fit(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    weight: NDArray[np.float64],
    vector_scale: float,
    l2: float,
) -> tuple[LogisticRegression, NDArray[np.float64]]:
    n_vector = x.shape[1] - len(STRUCTURE)
    spread = x.std(axis=0)
    scale = np.where(spread > 1e-9, spread, 1.0)  # a constant feature stays as it is
    scale[:n_vector] /= max(vector_scale, 1e-9)  # 0: the pooled vectors are switched off
    return LogisticRegression.fit(x / scale, y, l2=l2, sample_weight=weight), scale


def _stack(
    sets: list[TrainingSet], raw: list[NDArray[np.float64]]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    keys = [f"{s.data.name}:{g}" for s in sets for g in s.data.groups]
    x_raw = np.vstack(raw)
    y = np.concatenate([s.labels() for s in sets])
    weight = np.concatenate([np.full(len(s.data), 1.0 / len(s.data)) for s in sets])
    weight *= len(weight) / weight.sum()  # each dataset weighs the same in total
    return x_raw, _centred(x_raw, keys), y, weight


def _inner_folds(
    sets: list[TrainingSet], raw: list[NDArray[np.float64]], seed: int
) -> list[tuple[list[TrainingSet], list[NDArray[np.float64]], TrainingSet, NDArray[np.float64]]]:
    """Leave each training dataset out in turn; with one dataset, 4 folds of its groups."""
    if len(sets) > 1:
        return [
            (
                [s for j, s in enumerate(sets) if j != k],
                [r for j, r in enumerate(raw) if j != k],
                sets[k],
                raw[k],
            )
            for k in range(len(sets))
        ]
    only, x = sets[0], raw[0]
    groups = sorted(set(only.data.groups))
    if len(groups) < 4:  # too few groups to hold some out: random folds
        fold = np.random.default_rng(seed).integers(0, 4, len(only.data))
    else:
        order = np.random.default_rng(seed).permutation(len(groups))
        of_group = {groups[i]: int(k % 4) for k, i in enumerate(order)}
        fold = np.asarray([of_group[g] for g in only.data.groups])
    out = []
    for k in range(4):
        tr, te = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        if len(tr) >= 2 and len(te) >= 2:
            out.append(
                (
                    [TrainingSet(only.data.subset(tr), only.pairs)],
                    [x[tr]],
                    TrainingSet(only.data.subset(te), only.pairs),
                    x[te],
                )
            )
    return out


def select_recipe(
    sets: list[TrainingSet], raw: list[NDArray[np.float64]], seed: int = 0
) -> tuple[float, float, dict[str, float]]:
    """The `RECIPES` entry with the best mean APGR on inner held-out training data (each
    training dataset left out in turn): chosen on training data only."""
    from unitcost.routing.intervals import apgr_of

    folds = _inner_folds(sets, raw, seed)
    means: dict[str, float] = {}
    for vector_scale, l2 in RECIPES:
        values = []
        for train, train_raw, test, test_raw in folds:
            _, x, y, weight = _stack(train, train_raw)
            clf, scale = _fit(x, y, weight, vector_scale, l2)
            scores = (test_raw / scale) @ clf.weights
            for w, s in test.pairs:
                values.append(apgr_of(scores, test.data.scores[w], test.data.scores[s]))
        finite = [v for v in values if np.isfinite(v)]
        means[f"{vector_scale:g}/{l2:g}"] = float(np.mean(finite)) if finite else float("nan")
    best = max(RECIPES, key=lambda r: np.nan_to_num(means[f"{r[0]:g}/{r[1]:g}"], nan=-1.0))
    return best[0], best[1], means


def train_router(
    sets: list[TrainingSet],
    *,
    l2: float | None = None,
    vector_scale: float | None = None,
    features: list[NDArray[np.float64]] | None = None,
    folds: int = 5,
    seed: int = 0,
) -> LearnedRouter:
    """Fit on every set at once; `features` (one array per set) skips featurizing. Without
    `l2` and `vector_scale`, `select_recipe` picks them on the training data."""
    if not sets:
        raise InputError("train_router: no training data")
    featurize = default_featurizer()
    raw = [
        featurize(s.data.prompts) if features is None else features[i] for i, s in enumerate(sets)
    ]
    inner: dict[str, float] = {}
    if l2 is None or vector_scale is None:
        chosen_scale, chosen_l2, inner = select_recipe(sets, raw, seed)
        l2 = chosen_l2 if l2 is None else l2
        vector_scale = chosen_scale if vector_scale is None else vector_scale
    x_raw, x, y, weight = _stack(sets, raw)
    clf, scale = _fit(x, y, weight, vector_scale, l2)
    # Platt scaling on out-of-fold logits of the uncentred features (what run time sees)
    fold = np.random.default_rng(seed).integers(0, folds, len(y))
    oof = np.zeros(len(y))
    for k in range(folds):
        part = LogisticRegression.fit(
            x[fold != k] / scale, y[fold != k], l2=l2, sample_weight=weight[fold != k]
        )
        oof[fold == k] = (x_raw[fold == k] / scale) @ part.weights + part.bias
    platt = LogisticRegression.fit(oof[:, None], y, l2=1e-6, sample_weight=weight)
    router = LearnedRouter(clf, scale, (float(platt.weights[0]), platt.bias), [], [], [])
    scores = router.predict(x_raw)
    quantiles = [float(v) for v in np.percentile(scores, np.arange(101))]
    gap, relative = _training_curves(sets, scores, quantiles)
    meta = {
        "trained_on": [
            {"data": s.data.name, "prompts": len(s.data), "pairs": [list(p) for p in s.pairs]}
            for s in sets
        ],
        "positive_share": float(np.average(y, weights=weight)),
        "l2": l2,
        "vector_scale": vector_scale,
        "inner_validation_apgr": inner,
        "features": "PromptFeaturizer: static MiniLM vectors pooled over the whole prompt, "
        f"its first and last 64 word pieces (× {vector_scale:g}), and {len(STRUCTURE)} "
        "structure features; centred per dataset and group in training",
    }
    return LearnedRouter(clf, scale, router.calibration, quantiles, gap, relative, meta)


def _training_curves(
    sets: list[TrainingSet], scores: NDArray[np.float64], quantiles: list[float]
) -> tuple[list[float], list[float]]:
    """Per threshold, PGR and quality ÷ strong's, each the mean over the training sets."""
    gap: list[float] = []
    relative: list[float] = []
    for t in quantiles:
        start, g, r = 0, [], []
        for s in sets:
            part = scores[start : start + len(s.data)] >= t
            start += len(s.data)
            gains = s.gains()
            total = gains.sum()
            g.append(float(gains[part].sum() / total) if total else 1.0)
            r.append(s.relative(part))
        gap.append(float(np.mean(g)))
        relative.append(float(np.mean(r)))
    return gap, relative
