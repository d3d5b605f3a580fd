"""Choosing the semantic cache's similarity threshold from measured hits and false hits.

Data: ../shared/data/gptcache-paraphrase (999 questions, each with a true paraphrase).
- Paraphrases: the cache holds every original question; each paraphrase is looked up.
  A hit is correct when the nearest entry is its own original, false when it is another.
- Strangers: the cache holds the originals of half the pairs; the paraphrases of the
  other half are looked up. Nothing there should hit, so every hit is false.
The data repeats some questions (the same original, sometimes differing only in case): a hit
on an original with the same text is counted as correct, and such repeats are left out of
the stranger run. The default threshold is the lowest one whose false-hit rate stays ≤ 1%
in both runs.

    python bench/cache_threshold.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from unitcost.routing.embeddings import Embedder, embed_cached

DATA = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "gptcache-paraphrase"
    / "mock_data.json"
)
MAX_FALSE = 0.01


def main() -> None:
    pairs = json.loads(DATA.read_text())
    origins = [p["origin"] for p in pairs]
    similars = [p["similar"] for p in pairs]
    embedder = Embedder(max_tokens=128, threads=2)
    o, s = embed_cached(embedder, origins), embed_cached(embedder, similars)
    n = len(pairs)
    text = [" ".join(x.lower().split()) for x in origins]
    sims = s @ o.T  # each paraphrase against every original
    best = sims.argmax(axis=1)
    best_sim = sims.max(axis=1)
    own = np.asarray([text[int(b)] == text[i] for i, b in enumerate(best)])
    half = n // 2
    cached = set(text[:half])
    strangers = [i for i in range(half, n) if text[i] not in cached]
    stranger_sim = (s[strangers] @ o[:half].T).max(axis=1)
    print(
        f"{n - len(set(text))} repeated originals; stranger run: {len(strangers)} lookups "
        f"against {half} cached originals"
    )
    print(
        f"{n} paraphrase pairs; true-pair cosine p5/p50/p95: "
        f"{np.percentile(np.diag(sims), [5, 50, 95]).round(3).tolist()}"
    )
    print(f"{'threshold':>9} {'hit rate':>9} {'false (paraphrase)':>19} {'false (strangers)':>18}")
    chosen = None
    for t in np.round(np.arange(0.70, 0.991, 0.01), 2):
        hit = ((best_sim >= t) & own).mean()
        false_para = ((best_sim >= t) & ~own).mean()
        false_strange = (stranger_sim >= t).mean()
        ok = false_para <= MAX_FALSE and false_strange <= MAX_FALSE
        if ok and chosen is None:
            chosen = (t, hit, false_para, false_strange)
        print(
            f"{t:>9.2f} {hit:>9.1%} {false_para:>19.2%} {false_strange:>18.2%}"
            f"{'  ← chosen' if chosen is not None and chosen[0] == t else ''}"
        )
    if chosen is None:
        print("no threshold keeps false hits ≤ 1%")
        sys.exit(1)
    t, hit, fp, fs = chosen
    print(
        f"\nchosen threshold {t:.2f}: {hit:.1%} of paraphrases hit, false hits {fp:.2%} "
        f"(paraphrase run) and {fs:.2%} (stranger run); rule: lowest threshold with both ≤ 1%"
    )


if __name__ == "__main__":
    main()
