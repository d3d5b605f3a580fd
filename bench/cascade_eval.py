"""A cascade that checks its work, judged like a router, paying for every call it makes.

Pair: gpt-5-mini answers first; gemini-3.1-pro-preview is called when the check escalates.
Data: pricing-reversal's recorded answers (their real text, tokens and billed cost) on GPQA
(198) and AIME (60). The learned verifier is trained on the *other* dataset's answers of
the five cheaper models (leave one dataset out), and its threshold for 95% of the strong
model's quality is chosen there too. Features are centred on gpt-5-mini's mean answer on
the dataset (no labels: what the gateway's running mean per model converges to). Checks compared:

- learned verifier (format, effort, hedging; logprobs are not in this data): a curve over
  its threshold: APGR, CPT(50%), CPT(80%) with the share of escalated calls on the x axis;
- format only: escalate when the answer states no final answer;
- self-consistency: also ask claude-haiku-4.5, escalate when the two final answers differ
  (three calls' worth of cost when it escalates).

Cost of a cascade = the cheap call always + the strong call when escalated (+ the second
opinion for self-consistency), against always calling the strong model. 90% intervals:
bootstrap over the questions (1,000 resamples, seed 0).

    python bench/cascade_eval.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

from train_cascade_verifier import DATA, recorded, train

from unitcost.routing.cascade import answer_features, disagreement, final_answer
from unitcost.routing.intervals import apgr_of, bootstrap, cpt_of

WEAK, STRONG, SECOND = "gpt-5-mini", "gemini-3.1-pro-preview", "claude-haiku-4.5"
TARGET = 0.95


def columns(answers, dataset: str, model: str, prompts: list[str]):  # type: ignore[no-untyped-def]
    rows = answers[(dataset, model)]
    return (
        np.asarray([rows[p]["score"] for p in prompts]),
        np.asarray([rows[p]["cost"] for p in prompts]),
        [rows[p]["body"] for p in prompts],
    )


def cheapest_cut(doubt, w, s, wc, sc) -> float:  # type: ignore[no-untyped-def]
    """On training data: the highest doubt threshold that keeps TARGET of strong's quality."""
    best = (np.inf, np.inf)
    for t in np.unique(np.concatenate([doubt, [np.inf]])):
        up = doubt >= t
        if np.where(up, s, w).mean() >= TARGET * s.mean() - 1e-12:
            cost = float((wc + np.where(up, sc, 0.0)).sum())
            best = min(best, (cost, -t))
    return -best[1]


def point(name: str, up, w, s, cost, sc, reps: int) -> None:  # type: ignore[no-untyped-def]
    quality = np.where(up, s, w)
    band = bootstrap(lambda i: (1 - cost[i].sum() / sc[i].sum()) * 100, len(w), reps)
    print(
        f"  {name:<22}{up.mean():>9.1%}{quality.mean() / s.mean():>9.1%}"
        f"{band.value:>9.1f}%  [{band.low:.1f}, {band.high:.1f}]"
    )


def curve_bands(doubt, w, s, reps: int):  # type: ignore[no-untyped-def]
    n = len(w)
    return (
        bootstrap(lambda i: apgr_of(doubt[i], w[i], s[i]), n, reps),
        bootstrap(lambda i: cpt_of(doubt[i], w[i], s[i], 0.5), n, reps),
        bootstrap(lambda i: cpt_of(doubt[i], w[i], s[i], 0.8), n, reps),
    )


def main(reps: int = 1000) -> None:
    answers = recorded(DATA)
    print(f"cascade {WEAK} → {STRONG}")
    print("recorded answers and billed costs; [90% bootstrap intervals]\n")
    for dataset, other in (("gpqa", "aime"), ("aime", "gpqa")):
        prompts = sorted(answers[(dataset, WEAK)])
        w, wc, bodies = columns(answers, dataset, WEAK, prompts)
        s, sc, _ = columns(answers, dataset, STRONG, prompts)
        _, hc, second = columns(answers, dataset, SECOND, prompts)
        verifier = train(answers, (other,))
        rows = np.asarray([answer_features(b) for b in bodies])
        doubt = verifier.doubts(rows, rows.mean(axis=0))  # the weak model's own mean, no labels
        apgr, c50, c80 = curve_bands(doubt, w, s, reps)
        print(
            f"{dataset}: {len(prompts)} questions; {WEAK} {w.mean():.1%}, {STRONG} {s.mean():.1%}"
        )
        print(f"  learned verifier (trained on {other}): APGR {apgr}")
        print(
            f"    CPT(50%) {c50.value:.1f}% [{c50.low:.1f}, {c50.high:.1f}], "
            f"CPT(80%) {c80.value:.1f}% [{c80.low:.1f}, {c80.high:.1f}]"
        )
        # the threshold for 95% of strong's quality, chosen on the other dataset
        other_prompts = sorted(answers[(other, WEAK)])
        ow, owc, obodies = columns(answers, other, WEAK, other_prompts)
        os_, osc, _ = columns(answers, other, STRONG, other_prompts)
        orows = np.asarray([answer_features(b) for b in obodies])
        cut = cheapest_cut(verifier.doubts(orows, orows.mean(axis=0)), ow, os_, owc, osc)
        print(f"  {'check':<22}{'escalated':>9}{'quality':>9}{'saved':>10}  interval")
        up = doubt >= cut
        point(f"learned (cut: {other})", up, w, s, wc + np.where(up, sc, 0), sc, reps)
        texts = [b["choices"][0]["message"]["content"] for b in bodies]
        fmt = np.asarray([final_answer(t) is None for t in texts])
        point("format only", fmt, w, s, wc + np.where(fmt, sc, 0), sc, reps)
        differ = np.asarray(
            [disagreement(a, b) is not None for a, b in zip(bodies, second, strict=True)]
        )
        cost = wc + hc + np.where(differ, sc, 0)
        point("self-consistency", differ, w, s, cost, sc, reps)
        print(f"  always {STRONG}: ${sc.sum():.2f}; always {WEAK}: ${wc.sum():.2f}\n")
    print(f"legend: quality = share of {STRONG}'s;")
    print("        saved = against always calling it;")
    print(f"        self-consistency asks {SECOND} too and pays for it")


if __name__ == "__main__":
    main()
