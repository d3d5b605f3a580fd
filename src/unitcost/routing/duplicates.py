"""Is a cached question the *same* question? The semantic cache's second stage.

    verifier = DuplicateVerifier.load()          # shipped: trained on a QQP training split
    p = verifier.probability("How do I lose 5 kg?", "How do I lose 10 kg?", qv, cv)  # ~0.0
    verifier.accepts(p)                          # p ≥ the threshold chosen in training

Cosine similarity alone cannot tell "lose 5 kg" from "lose 10 kg", or "is X safe" from "is
X not safe": on real users' question pairs a cosine threshold that lets half the duplicates
through also serves several per cent wrong answers. This pair classifier (a logistic
regression) reads both questions and the cosine of their MiniLM vectors:

- mismatches a paraphrase never has: numbers, capitalised names (entities), negations,
  the question word (what / why / how ...), and words present on one side only;
- overlap of words, of content words and of character trigrams; the length difference;
- word alignment: for each word piece of one question, its best match among the other's
  (cosine of the static MiniLM vectors the router also reads); the worst-matched piece
  and the mean, each way. A word with no counterpart is what a near-miss looks like.

(The element-wise product and difference of the two sentence vectors were tried as well:
on the held-out split they lowered the hit rate at 1% false hits, from over-fitting.)

Its threshold keeps false hits at or under 1% of non-duplicate pairs on the training split
(out of fold). Measured on a held-out split, see `bench/cache_verifier.py`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unitcost.errors import InputError
from unitcost.routing.classifier import LogisticRegression

__all__ = [
    "DEFAULT_VERIFIER",
    "LEXICAL",
    "DuplicateVerifier",
    "lexical_features",
    "load_pairs",
    "pair_features",
    "same_words",
    "split_pairs",
    "tradeoff",
    "train_verifier",
]

DEFAULT_VERIFIER = "cache-verifier-qqp.json"
FORMAT = 1

LEXICAL = (
    "cosine",
    "numbers_differ",
    "numbers_one_side",
    "entities_one_side",
    "negation_differs",
    "question_word_differs",
    "words_only_a",
    "words_only_b",
    "word_jaccard",
    "content_jaccard",
    "trigram_jaccard",
    "length_gap",
    "same_text",
    "align_min_ab",
    "align_min_ba",
    "align_mean_ab",
    "align_mean_ba",
    "align_p10_ab",
    "align_p10_ba",
)

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_ENTITY = re.compile(r"(?<![.?!]\s)(?<!^)\b[A-Z][a-zA-Z0-9]+")
_NEGATION = {"not", "no", "never", "none", "nobody", "nothing", "without", "cannot", "neither"}
_QUESTION = (
    "what",
    "why",
    "how",
    "which",
    "who",
    "whom",
    "whose",
    "when",
    "where",
    "is",
    "are",
    "can",
    "do",
    "does",
    "should",
    "will",
    "would",
    "could",
)
_STOP = set(
    "a an the of to in on for and or is are was were be been do does did i you he she it we "
    "they my your his her its our their me him us them this that these those what why how "
    "which who when where can could should would will with at by from as about into than "
    "so if then there here any some".split()
)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def same_words(a: str, b: str) -> bool:
    """The same question written with other case, spacing or punctuation."""
    return _parsed(a).words == _parsed(b).words


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


@dataclass(frozen=True)
class _Question:
    """What the pair features need of one question, worked out once per text."""

    words: tuple[str, ...]
    vocabulary: frozenset[str]
    content: frozenset[str]
    numbers: frozenset[str]
    entities: frozenset[str]
    negated: bool
    question_word: str
    trigrams: frozenset[str]
    log_words: float
    pieces: NDArray[np.int32]  # word-piece ids (their static vectors are looked up)


@lru_cache(maxsize=20_000)  # popular cache entries are verified again and again
def _parsed(text: str) -> _Question:
    words = tuple(_words(text))
    vocabulary = frozenset(words)
    flat = " ".join(text.lower().split())
    tokenizer, _ = _pieces()
    ids = tokenizer.encode(text, add_special_tokens=False).ids or [100]
    return _Question(
        words,
        vocabulary,
        vocabulary - _STOP,
        frozenset(_NUMBER.findall(text)),
        frozenset(e.lower() for e in _ENTITY.findall(text)),
        any(w in _NEGATION or w.endswith("n't") for w in words),
        next((w for w in words if w in _QUESTION), ""),
        frozenset(flat[i : i + 3] for i in range(max(len(flat) - 2, 1))),
        float(np.log1p(len(words))),
        np.asarray(ids, dtype=np.int32),
    )


def lexical_features(a: str, b: str, cosine: float) -> list[float]:
    """The `LEXICAL` columns up to `same_text` for one pair of questions."""
    qa, qb = _parsed(a), _parsed(b)
    sa, sb = qa.vocabulary, qb.vocabulary
    entities_one_side = len((qa.entities - sb) | (qb.entities - sa))  # a name not in the other
    return [
        cosine,
        float(qa.numbers != qb.numbers),
        float(np.log1p(len(qa.numbers ^ qb.numbers))),
        float(np.log1p(entities_one_side)),
        float(qa.negated != qb.negated),
        float(qa.question_word != qb.question_word),
        float(np.log1p(len(sa - sb))),
        float(np.log1p(len(sb - sa))),
        _jaccard(sa, sb),
        _jaccard(qa.content, qb.content),
        _jaccard(qa.trigrams, qb.trigrams),
        abs(qa.log_words - qb.log_words),
        float(qa.words == qb.words),
    ]


@cache
def _pieces() -> tuple[Any, NDArray[np.float32]]:
    from unitcost.routing.features import PromptFeaturizer, static_vectors

    table = static_vectors()
    unit = table / np.maximum(np.linalg.norm(table, axis=1, keepdims=True), 1e-9)
    return PromptFeaturizer().tokenizer, unit.astype(np.float32)


def _p10(x: NDArray[np.float32]) -> float:
    """np.percentile(x, 10) (linear interpolation) without its overhead."""
    s = np.sort(x)
    k = 0.1 * (len(s) - 1)
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return float(s[lo] + (k - lo) * (s[hi] - s[lo]))


def alignment_features(a: str, b: str) -> list[float]:
    table = _pieces()[1]
    sims = table[_parsed(a).pieces] @ table[_parsed(b).pieces].T
    ab, ba = sims.max(axis=1), sims.max(axis=0)
    return [
        float(ab.min()),
        float(ba.min()),
        float(ab.mean()),
        float(ba.mean()),
        _p10(ab),
        _p10(ba),
    ]


def pair_features(
    a: str, b: str, u: NDArray[np.float32], v: NDArray[np.float32]
) -> NDArray[np.float64]:
    """One row of `LEXICAL` features for questions `a`, `b` with unit vectors `u`, `v`."""
    cosine = float(u @ v)
    return np.asarray(lexical_features(a, b, cosine) + alignment_features(a, b))


@dataclass(frozen=True)
class DuplicateVerifier:
    classifier: LogisticRegression
    scale: NDArray[np.float64]
    threshold: float  # P(duplicate) needed for a hit
    floor: float  # cosine below which a candidate is not even verified
    max_tokens: int  # word pieces the vectors were embedded with (the cache must match)
    meta: dict[str, Any] = field(default_factory=dict)

    def probabilities(self, rows: NDArray[np.float64]) -> NDArray[np.float64]:
        p: NDArray[np.float64] = self.classifier.predict(rows / self.scale)
        return p

    def probability(self, a: str, b: str, u: NDArray[np.float32], v: NDArray[np.float32]) -> float:
        """P(a and b ask the same thing): 1 for the same words (case, spacing and
        punctuation aside), 0 below the cosine floor, else the classifier's."""
        if same_words(a, b):
            return 1.0
        if float(u @ v) < self.floor:
            return 0.0
        return float(self.probabilities(pair_features(a, b, u, v)[None, :])[0])

    def accepts(self, probability: float) -> bool:
        return probability >= self.threshold

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "classifier": self.classifier.to_dict(),
            "scale": [float(x) for x in self.scale],
            "threshold": self.threshold,
            "floor": self.floor,
            "max_tokens": self.max_tokens,
            "meta": self.meta,
        }

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path | None = None) -> DuplicateVerifier:
        return _load(str(path) if path else None)


@cache
def _load(path: str | None) -> DuplicateVerifier:
    if path is None:
        source = resources.files("unitcost") / "data" / DEFAULT_VERIFIER
        text = source.read_text(encoding="utf-8")
    elif Path(path).is_file():
        text = Path(path).read_text(encoding="utf-8")
    else:
        raise InputError(f"cache verifier file {path!r} does not exist")
    data = json.loads(text)
    if data.get("format") != FORMAT:
        raise InputError(f"cache verifier {path!r}: format {data.get('format')!r} is not {FORMAT}")
    return DuplicateVerifier(
        LogisticRegression.from_dict(data["classifier"]),
        np.asarray(data["scale"], dtype=np.float64),
        float(data["threshold"]),
        float(data["floor"]),
        int(data["max_tokens"]),
        data.get("meta", {}),
    )


def load_pairs(path: Path) -> tuple[list[str], list[str], NDArray[np.float64]]:
    """Labelled question pairs from JSON (optionally gzip): [{text_a, text_b, label}]."""
    import gzip

    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    try:
        rows = json.loads(raw)
        a = [str(r["text_a"]) for r in rows]
        b = [str(r["text_b"]) for r in rows]
        labels = np.asarray([float(r["label"]) for r in rows])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise InputError(
            f"{path.name}: not labelled pairs ({exc}); accepted: a JSON list of "
            "{text_a, text_b, label 0/1}"
        ) from None
    return a, b, labels


def split_pairs(
    a: list[str], b: list[str], test_share: float = 0.2, seed: int = 13
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Train and test pair indices such that no question text is on both sides: pairs that
    share a question (QQP repeats many) stay together, so the test split is truly unseen."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for x, y in zip(a, b, strict=True):
        parent[root(x)] = root(y)
    components = sorted({root(x) for x in a})
    rng = np.random.default_rng(seed)
    test_roots = {c for c in components if rng.random() < test_share}
    is_test = np.asarray([root(x) in test_roots for x in a])
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)


def tradeoff(
    probabilities: NDArray[np.float64], labels: NDArray[np.float64], steps: int = 200
) -> list[tuple[float, float, float]]:
    """(threshold, share of duplicates hit, share of non-duplicates hit) per threshold."""
    dup, non = probabilities[labels == 1], probabilities[labels == 0]
    out = []
    for t in np.unique(np.quantile(probabilities, np.linspace(0, 1, steps + 1))):
        out.append((float(t), float((dup >= t).mean()), float((non >= t).mean())))
    return out


def train_verifier(
    a: list[str],
    b: list[str],
    labels: NDArray[np.float64],
    u: NDArray[np.float32],
    v: NDArray[np.float32],
    *,
    max_tokens: int,
    max_false: float = 0.01,
    l2: float = 10.0,
    folds: int = 5,
    seed: int = 0,
) -> DuplicateVerifier:
    """Fit on labelled pairs (vectors `u`, `v` of `a`, `b`); the threshold is the lowest whose
    out-of-fold false-hit rate on these pairs is ≤ `max_false`."""
    cosine = np.einsum("ij,ij->i", u, v)
    floor = round(float(np.floor(np.percentile(cosine[labels == 1], 1) * 100)) / 100, 2)
    keep = np.flatnonzero(cosine >= floor)  # the verifier only ever sees these
    rows = np.vstack([pair_features(a[i], b[i], u[i], v[i]) for i in keep])
    y = labels[keep]
    spread = rows.std(axis=0)
    scale = np.where(spread > 1e-9, spread, 1.0)
    clf = LogisticRegression.fit(rows / scale, y, l2=l2)
    fold = np.random.default_rng(seed).integers(0, folds, len(y))
    oof = np.zeros(len(y))
    for k in range(folds):
        part = LogisticRegression.fit(rows[fold != k] / scale, y[fold != k], l2=l2)
        oof[fold == k] = part.predict(rows[fold == k] / scale)
    # every pair below the floor is a miss; false hits count over all non-duplicates
    probabilities = np.zeros(len(labels))
    probabilities[keep] = oof
    probabilities[[i for i in range(len(labels)) if same_words(a[i], b[i])]] = 1.0  # as served
    non = probabilities[labels == 0]
    allowed = int(np.floor(max_false * len(non)))
    threshold = float(np.sort(non)[::-1][allowed]) + 1e-9 if allowed < len(non) else 0.0
    hit = float((probabilities[labels == 1] >= threshold).mean())
    meta = {
        "pairs": len(labels),
        "duplicates": int(labels.sum()),
        "verified_above_floor": len(keep),
        "l2": l2,
        "out_of_fold_hit_rate": hit,
        "out_of_fold_false_rate": float((non >= threshold).mean()),
        "max_false": max_false,
    }
    return DuplicateVerifier(clf, scale, threshold, floor, max_tokens, meta)
