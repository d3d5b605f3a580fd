"""Train the semantic cache's verifier shipped in the package (data/cache-verifier-qqp.json).

    python tools/train_cache_verifier.py [--data ../shared/data/qqp-pairs/qqp-pairs.json.gz]

Data: the Quora Question Pairs subset GPTCache ships (40,375 labelled pairs). The pairs are
split by question (`split_pairs`, seed 13: no question text is on both sides) into a
training part (~80%) and a held-out part that neither this script nor the threshold ever
sees; `bench/cache_verifier.py` measures on it. Vectors: MiniLM at 24 word pieces, each text
embedded alone (what the live cache computes), cached on disk after the first run (~8 min).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from unitcost.routing.duplicates import DEFAULT_VERIFIER, load_pairs, split_pairs, train_verifier
from unitcost.routing.embeddings import Embedder, embed_cached

ROOT = Path(__file__).resolve().parents[1]
QQP = ROOT.parent / "shared" / "data" / "qqp-pairs" / "qqp-pairs.json.gz"
MAX_TOKENS = 24


def pair_vectors(a: list[str], b: list[str]):  # type: ignore[no-untyped-def]
    texts = sorted({*a, *b})
    vectors = embed_cached(Embedder(max_tokens=MAX_TOKENS, threads=1), texts)
    row = {t: i for i, t in enumerate(texts)}
    return vectors[[row[t] for t in a]], vectors[[row[t] for t in b]]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(QQP))
    args = ap.parse_args()
    a, b, labels = load_pairs(Path(args.data))
    u, v = pair_vectors(a, b)
    train, _ = split_pairs(a, b)
    verifier = train_verifier(
        [a[i] for i in train],
        [b[i] for i in train],
        labels[train],
        u[train],
        v[train],
        max_tokens=MAX_TOKENS,
    )
    verifier.meta["trained_on"] = "qqp-pairs (GPTCache's QQP subset), training split, seed 13"
    path = ROOT / "src" / "unitcost" / "data" / DEFAULT_VERIFIER
    verifier.save(path)
    print(
        f"wrote {path}: threshold {verifier.threshold:.3f}, floor {verifier.floor}, {verifier.meta}"
    )


if __name__ == "__main__":
    main()
