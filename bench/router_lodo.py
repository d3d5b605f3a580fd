"""The learned router on datasets it was not trained on: leave one dataset out.

For each of RouteLLM's MMLU, pricing-reversal GPQA and pricing-reversal AIME, the router is
trained (tools/train_router.py's recipe) on the other two and judged on the one left out,
against the length-only router (longer prompts to the strong model, its direction taken
from the training data) and random routing (APGR 0.5 in expectation). On GPQA and AIME,
APGR and CPT are the mean over the dataset's (cheaper, better) model pairs; "$ saved" is
for the demo's pair (gpt-5-mini → gemini-3.1-pro-preview) with the threshold for 95% of the
strong model's quality read off the *training* data. 90% intervals: paired bootstrap over
the left-out dataset's questions (1,000 resamples, seed 0).

`--blend` adds the learned score plus w × the length score (both standardised on the
left-out prompts, which is a monotone rescaling per dataset, no labels) for a grid of w,
and the w that inner leave-one-dataset-out on the *training* datasets picks, with its
interval against length alone: can the router be made never worse than its length feature?

    python bench/router_lodo.py [--reps 1000] [--json out.json] [--blend]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

from train_router import training_sets

from unitcost.routing.evaluate import saving_at
from unitcost.routing.intervals import Band, apgr_of, bootstrap, cpt_of
from unitcost.routing.learned import TrainingSet, default_featurizer, train_router

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEMO_PAIR = ("gpt-5-mini", "gemini-3.1-pro-preview")


def mean_over_pairs(metric, scores, test: TrainingSet, index):  # type: ignore[no-untyped-def]
    values = []
    for w, s in test.pairs:
        ws, ss = test.data.scores[w][index], test.data.scores[s][index]
        values.append(metric(scores[index], ws, ss))
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def length_sign(train: list[TrainingSet]) -> float:
    """Direction of length against the label, within each training dataset, pooled."""
    xs, ys = [], []
    for t in train:
        lengths = np.log1p([len(p) for p in t.data.prompts])
        xs.append(lengths - lengths.mean())
        ys.append(t.labels() - t.labels().mean())
    return 1.0 if float(np.dot(np.concatenate(xs), np.concatenate(ys))) >= 0 else -1.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--blend", action="store_true", help="learned + w × length, w by inner LODO")
    args = ap.parse_args()
    sets = training_sets(DATA)
    featurize = default_featurizer()
    features = [featurize(s.data.prompts) for s in sets]
    rows = []
    for k, test in enumerate(sets):
        train = [s for j, s in enumerate(sets) if j != k]
        rows.append(judge(test, train, features, k, args.reps))
    report(rows)
    if args.blend:
        blends(sets, features, args.reps)
    if args.json:
        args.json.write_text(json.dumps([_json(r) for r in rows], indent=1))


def judge(test: TrainingSet, train: list[TrainingSet], features, k: int, reps: int):  # type: ignore[no-untyped-def]
    """Train on `train`, score `test` (`features[k]`): bands, CPTs, the demo pair's saving."""
    router = train_router(train, features=[f for j, f in enumerate(features) if j != k])
    learned = router.predict(features[k])
    n = len(test.data)
    sign = length_sign(train)
    noise = np.random.default_rng(0).random(n) * 1e-9  # ties broken at random, not by order
    length = sign * np.log1p([len(p) for p in test.data.prompts]) + noise

    def apgr_l(i, scores=learned):  # type: ignore[no-untyped-def]
        return mean_over_pairs(apgr_of, scores, test, i)

    def cpt_l(i, pct):  # type: ignore[no-untyped-def]
        return mean_over_pairs(lambda a, b, c: cpt_of(a, b, c, pct), learned, test, i)

    bands = {
        "learned": bootstrap(apgr_l, n, reps),
        "length": bootstrap(lambda i: apgr_l(i, length), n, reps),
        "learned-length": bootstrap(lambda i: apgr_l(i) - apgr_l(i, length), n, reps),
    }
    cpts = {
        "CPT(50%)": bootstrap(lambda i: cpt_l(i, 0.5), n, reps),
        "CPT(80%)": bootstrap(lambda i: cpt_l(i, 0.8), n, reps),
    }
    pair = DEMO_PAIR if DEMO_PAIR[0] in test.data.scores else test.pairs[0]
    cut = router.threshold(relative_quality=0.95)
    w, s = (test.data.scores[m] for m in pair)
    wc, sc = (test.data.costs.get(m) for m in pair)
    saving = saving_at(learned >= cut, w, s, wc, sc, 0.95, test.data.cost_source, reps)
    return test, bands, cpts, pair, saving, sign


def report(rows) -> None:  # type: ignore[no-untyped-def]
    print("leave-one-dataset-out: trained on the other two datasets, never on the one shown")
    print("APGR (90% bootstrap interval); random routing has APGR 0.500 in expectation\n")
    print(f"{'left out':<14}{'n':>6}{'pairs':>6}  {'learned APGR':<22}{'length APGR':<22}")
    for test, bands, _, _, _, _ in rows:
        name = test.data.name.removeprefix("pricing-reversal/")
        print(
            f"{name:<14}{len(test.data):>6}{len(test.pairs):>6}  {bands['learned']!s:<22}"
            f"{bands['length']!s:<22}"
        )
    print(f"\n{'left out':<14}{'learned − length':<24}{'beats length':<14}{'beats random':<13}")
    for test, bands, _, _, _, _ in rows:
        diff, learned = bands["learned-length"], bands["learned"]
        print(
            f"{test.data.name.removeprefix('pricing-reversal/'):<14}{diff.value:+.3f} "
            f"[{diff.low:+.3f}, {diff.high:+.3f}]   {_yes(diff.low > 0):<14}"
            f"{_yes(learned.low > 0.5):<13}"
        )
    print(f"\n{'left out':<14}{'CPT(50%)':<24}{'CPT(80%)':<24}")
    for test, _, cpts, _, _, _ in rows:
        c5, c8 = cpts["CPT(50%)"], cpts["CPT(80%)"]
        print(
            f"{test.data.name.removeprefix('pricing-reversal/'):<14}"
            f"{c5.value:.1f}% [{c5.low:.1f}, {c5.high:.1f}]{'':<5}"
            f"{c8.value:.1f}% [{c8.low:.1f}, {c8.high:.1f}]"
        )
    print("\n$ saved against always-strong, threshold for 95% of strong's quality from training:")
    for test, _, _, pair, sv, _ in rows:
        band = sv.get("saving_band", {})
        print(f"  {test.data.name.removeprefix('pricing-reversal/')}: {pair[0]} → {pair[1]}")
        print(
            f"    {sv['strong_pct']:.1f}% strong calls, {sv['relative_quality']:.1%} of strong's "
            f"quality, saved {sv.get('saving_pct', float('nan')):.1f}% "
            f"[{band.get('low', float('nan')):.1f}, {band.get('high', float('nan')):.1f}]"
        )
    print("legend: yes = the 90% interval excludes the baseline (0.500 for random);")
    print("        costs: each dataset's own (RouteLLM's prices for MMLU, billed for the rest)")


#: length weights tried by `--blend` (1e6: length alone, the learned score only breaks ties)
WEIGHTS = (0.0, 0.5, 1.0, 2.0, 1e6)


def _standard(x):  # type: ignore[no-untyped-def]
    return (x - x.mean()) / max(float(x.std()), 1e-12)


def blended(train: list[TrainingSet], test: TrainingSet, train_f, test_f):  # type: ignore[no-untyped-def]
    """Per weight in `WEIGHTS`, the test prompts' blended scores (router trained on `train`)."""
    router = train_router(train, features=train_f)
    learned = _standard(router.logits(test_f))
    noise = np.random.default_rng(0).random(len(test.data)) * 1e-9  # ties as in `judge`
    length = length_sign(train) * np.log1p([len(p) for p in test.data.prompts]) + noise
    length = _standard(length)
    return {w: learned + w * length for w in WEIGHTS}, length


def _gain_over(scores, length, test: TrainingSet):  # type: ignore[no-untyped-def]
    def gain(i):  # type: ignore[no-untyped-def]
        return mean_over_pairs(apgr_of, scores, test, i) - mean_over_pairs(apgr_of, length, test, i)

    return gain


def blends(sets: list[TrainingSet], features, reps: int) -> None:  # type: ignore[no-untyped-def]
    print("\nlearned + w × length (standardised); APGR on the left-out dataset per w,")
    print("w* chosen by inner leave-one-dataset-out on the two training datasets only")
    print(
        f"{'left out':<8}"
        + "".join(f"{'len' if w > 1e5 else f'w={w:g}':>8}" for w in WEIGHTS)
        + f"{'w*':>6}  {'w* − length [90%]':<20}"
    )
    for k, test in enumerate(sets):
        train = [s for j, s in enumerate(sets) if j != k]
        train_f = [f for j, f in enumerate(features) if j != k]
        whole = np.arange(len(test.data))
        scores, length = blended(train, test, train_f, features[k])
        outer = {w: mean_over_pairs(apgr_of, s, test, whole) for w, s in scores.items()}
        inner: dict[float, list[float]] = {w: [] for w in WEIGHTS}
        for m, held in enumerate(train):
            rest = [s for j, s in enumerate(train) if j != m]
            rest_f = [f for j, f in enumerate(train_f) if j != m]
            part, _ = blended(rest, held, rest_f, train_f[m])
            for w, s in part.items():
                inner[w].append(mean_over_pairs(apgr_of, s, held, np.arange(len(held.data))))
        best = max(WEIGHTS, key=lambda w: float(np.nanmean(inner[w])))
        diff = bootstrap(_gain_over(scores[best], length, test), len(test.data), reps)
        name = test.data.name.removeprefix("pricing-reversal/").removeprefix("routellm-")
        print(
            f"{name:<8}"
            + "".join(f"{outer[w]:>8.3f}" for w in WEIGHTS)
            + f"{'len' if best > 1e5 else f'{best:g}':>6}  "
            f"{diff.value:+.3f} [{diff.low:+.3f}, {diff.high:+.3f}]"
        )


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def _json(row) -> dict:  # type: ignore[no-untyped-def, type-arg]
    test, bands, cpts, pair, saving, sign = row
    b: dict[str, Band] = {**bands, **cpts}
    return {
        "left_out": test.data.name,
        "prompts": len(test.data),
        "pairs": len(test.pairs),
        "length_sign": sign,
        "bands": {k: v.to_dict() for k, v in b.items()},
        "saving_pair": list(pair),
        "saving": saving,
    }


if __name__ == "__main__":
    main()
