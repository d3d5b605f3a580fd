"""The semantic cache's verifier on question pairs it was not trained on.

Held out: the QQP pairs that `tools/train_cache_verifier.py` never saw (the split by
question, seed 13, ~7,700 pairs; about 35% duplicates). For every threshold, the share of
duplicate pairs that would hit and the share of non-duplicate pairs that would hit (a wrong
answer served), for the cosine of the MiniLM vectors alone and for the verifier (cosine
floor, then P(duplicate)). Then the shipped threshold on the held-out pairs, and on
gptcache-paraphrase (999 true paraphrase pairs, also never trained on). Writes a PNG of
both curves.

    python bench/cache_verifier.py [--plot cache-verifier.png]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

from train_cache_verifier import QQP, pair_vectors

from unitcost.routing.duplicates import DuplicateVerifier, load_pairs, split_pairs, tradeoff

FALSE_RATES = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.10)
PARAPHRASE = QQP.parents[1] / "gptcache-paraphrase" / "mock_data.json"


def hit_at(curve: list[tuple[float, float, float]], false_rate: float) -> tuple[float, float]:
    """Best hit rate among thresholds whose false-hit rate is ≤ `false_rate`."""
    ok = [(h, t) for t, h, f in curve if f <= false_rate]
    return max(ok) if ok else (0.0, float("nan"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--plot", type=Path, default=Path("cache-verifier.png"))
    args = ap.parse_args()
    a, b, labels = load_pairs(QQP)
    u, v = pair_vectors(a, b)
    _, test = split_pairs(a, b)
    verifier = DuplicateVerifier.load()
    y = labels[test]
    cosine = np.einsum("ij,ij->i", u[test], v[test])
    verified = np.asarray([verifier.probability(a[i], b[i], u[i], v[i]) for i in test])
    curves = {"cosine alone": tradeoff(cosine, y, 400), "verifier": tradeoff(verified, y, 400)}
    print(
        f"held-out QQP pairs: {len(test):,} ({int(y.sum()):,} duplicates), never trained on; "
        f"vectors: MiniLM, {verifier.max_tokens} word pieces"
    )
    print(f"\n{'false hits ≤':>13} {'cosine alone: hit':>18} {'verifier: hit':>14}")
    for rate in FALSE_RATES:
        (hc, _), (hv, _) = hit_at(curves["cosine alone"], rate), hit_at(curves["verifier"], rate)
        print(f"{rate:>13.2%} {hc:>18.1%} {hv:>14.1%}")
    hit = float((verified[y == 1] >= verifier.threshold).mean())
    false = float((verified[y == 0] >= verifier.threshold).mean())
    print(
        f"\nshipped threshold P ≥ {verifier.threshold:.3f} (cosine floor {verifier.floor:.2f}), "
        f"chosen on the training split: {hit:.1%} of held-out duplicates hit, {false:.2%} of "
        f"non-duplicates hit (goal: ≥ 50% at ≤ 1%)"
    )
    pairs = json.loads(PARAPHRASE.read_text(encoding="utf-8"))
    po, ps = pair_vectors([p["origin"] for p in pairs], [p["similar"] for p in pairs])
    para = [
        verifier.probability(p["similar"], p["origin"], ps[i], po[i]) for i, p in enumerate(pairs)
    ]
    print(
        f"gptcache-paraphrase (999 true paraphrases, never trained on): "
        f"{np.mean(np.asarray(para) >= verifier.threshold):.1%} hit at the shipped threshold"
    )
    plot(curves, args.plot)
    print(f"wrote {args.plot}")


def plot(curves: dict[str, list[tuple[float, float, float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, curve in curves.items():
        ax.plot([c[2] * 100 for c in curve], [c[1] * 100 for c in curve], label=name)
    ax.axvline(1.0, color="grey", linestyle=":", linewidth=0.8, label="1% false hits")
    ax.axhline(50.0, color="grey", linestyle="--", linewidth=0.8, label="goal: 50% of duplicates")
    ax.set(
        xscale="log",
        xlim=(0.05, 100),
        ylim=(0, 100),
        xlabel="non-duplicate pairs that hit (%, log scale)",
        ylabel="duplicate pairs that hit (%)",
        title="Semantic cache on held-out QQP pairs",
    )
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
