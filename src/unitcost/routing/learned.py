"""The learned router: how likely is the strong model to be needed for this prompt?

    router = LearnedRouter.load()                   # shipped: trained on RouteLLM's MMLU
    p = router.score("Which is a prime? A. 4 B. 6 C. 7 D. 9")   # P(strong needed)
    router.threshold(strong_share=0.3)              # route ~30% of traffic to strong

A prompt's MiniLM embedding and its length go through a logistic regression
trained on labelled per-query outcomes: label 1 where the strong model scored higher than
the weak one. Embeddings are centred per training group (subject) before fitting, so the
classifier learns what makes a question hard within a subject rather than which subjects
the weak model is bad at, a shortcut that does not carry over to unseen subjects (measured:
on RouteLLM's MMLU with held-out subjects it lifts APGR from 0.53 to 0.58 over 8 splits).
The threshold comes from a target share of strong calls, or a target quality (share of the
weak→strong gap recovered), read off the score distribution of the training prompts.
"""

from __future__ import annotations

import hashlib
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
from unitcost.routing.embeddings import Embedder, _cache_dir, default_embedder

__all__ = ["DEFAULT_ROUTER", "LearnedRouter", "embed_cached", "strong_needed", "train_router"]

DEFAULT_ROUTER = "router-mmlu.json"
#: weight of the 384 embedding features against the one length feature under the L2 penalty
EMBEDDING_SCALE = 0.3


def prompt_lengths(texts: list[str]) -> NDArray[np.float64]:
    """log(1 + characters): as informative as a token count here, and free to compute."""
    return np.log1p(np.asarray([len(t) for t in texts], dtype=np.float64))


def _features(
    vectors: NDArray[Any], log_lengths: NDArray[np.float64], mean: float, std: float
) -> NDArray[np.float64]:
    return np.hstack([vectors * EMBEDDING_SCALE, ((log_lengths - mean) / std)[:, None]])


def strong_needed(data: Outcomes, weak: str, strong: str) -> NDArray[np.float64]:
    return (data.scores[strong] > data.scores[weak]).astype(np.float64)


def embed_cached(embedder: Embedder, texts: list[str]) -> NDArray[np.float32]:
    """Embeddings of many texts, cached on disk by content (route-eval re-runs are cheap)."""
    key = hashlib.sha256(
        f"v2:{embedder.max_tokens}:{embedder.keep}\n".encode() + "\x00".join(texts).encode()
    )
    path = _cache_dir() / f"embeddings-{key.hexdigest()[:24]}.npy"
    if path.exists():
        cached: NDArray[np.float32] = np.load(path)
        return cached
    vectors = embedder.embed_many(texts)
    np.save(path, vectors)
    return vectors


@dataclass(frozen=True)
class LearnedRouter:
    classifier: LogisticRegression
    max_tokens: int
    quantiles: list[float]  # score at each percentile 0..100 over the training prompts
    gap_recovered: list[float]  # training PGR when routing above each of those quantiles
    length_mean: float
    length_std: float
    keep: str = "head"  # which end of a long prompt the embedding reads
    meta: dict[str, Any] = field(default_factory=dict)

    def score(self, prompt: str) -> float:
        vector = default_embedder(self.max_tokens, self.keep).embed([prompt])
        return float(self.predict(vector, prompt_lengths([prompt]))[0])

    def predict(
        self, vectors: NDArray[Any], log_lengths: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """P(strong needed) for embedded prompts and their log(1 + tokens)."""
        x = _features(vectors, log_lengths, self.length_mean, self.length_std)
        return self.classifier.predict(x)

    def threshold(
        self, strong_share: float | None = None, target_quality: float | None = None
    ) -> float:
        """The score above which a prompt goes to the strong model."""
        if (strong_share is None) == (target_quality is None):
            raise InputError("learned route: give exactly one of strong_share or target_quality")
        if strong_share is not None:
            return float(np.percentile(self.quantiles, 100 * (1 - strong_share)))
        assert target_quality is not None
        # the highest threshold (fewest strong calls) that recovers the target share of the gap
        for q in range(100, -1, -1):
            if self.gap_recovered[q] >= target_quality:
                return self.quantiles[q]
        return self.quantiles[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "classifier": self.classifier.to_dict(),
            "max_tokens": self.max_tokens,
            "quantiles": self.quantiles,
            "gap_recovered": self.gap_recovered,
            "length_mean": self.length_mean,
            "length_std": self.length_std,
            "keep": self.keep,
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
    data = json.loads(text)
    return LearnedRouter(
        LogisticRegression.from_dict(data["classifier"]),
        data["max_tokens"],
        data["quantiles"],
        data["gap_recovered"],
        data["length_mean"],
        data["length_std"],
        data.get("keep", "head"),
        data.get("meta", {}),
    )


def train_router(
    data: Outcomes,
    weak: str,
    strong: str,
    embedder: Embedder,
    l2: float = 1.0,
    vectors: NDArray[np.float32] | None = None,
) -> LearnedRouter:
    data.require(weak, strong)
    x = embed_cached(embedder, data.prompts) if vectors is None else vectors
    groups = np.asarray(data.groups)
    centred = x.astype(np.float64)
    for g in np.unique(groups):  # learn difficulty within a subject, not between subjects
        rows = groups == g
        centred[rows] -= centred[rows].mean(axis=0)
    lengths = prompt_lengths(data.prompts)
    mean, std = float(lengths.mean()), float(lengths.std() or 1.0)
    y = strong_needed(data, weak, strong)
    clf = LogisticRegression.fit(_features(centred, lengths, mean, std), y, l2=l2)
    router = LearnedRouter(clf, embedder.max_tokens, [], [], mean, std, embedder.keep)
    scores = router.predict(x, lengths)
    quantiles = [float(v) for v in np.percentile(scores, np.arange(101))]
    w, s = data.scores[weak], data.scores[strong]
    gap = s.mean() - w.mean()
    recovered = []
    for t in quantiles:
        routed = np.where(scores >= t, s, w).mean()
        recovered.append(float((routed - w.mean()) / gap) if gap else 1.0)
    meta = {
        "trained_on": data.name,
        "weak": weak,
        "strong": strong,
        "prompts": len(data),
        "positive_share": float(y.mean()),
        "l2": l2,
        "features": f"all-MiniLM-L6-v2 int8 embedding (centred per group) × "
        f"{EMBEDDING_SCALE}, log(1 + characters)",
    }
    return LearnedRouter(
        clf, embedder.max_tokens, quantiles, recovered, mean, std, embedder.keep, meta
    )
