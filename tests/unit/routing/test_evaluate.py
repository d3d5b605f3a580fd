"""route-eval's metrics on constructed outcomes: score scales, small splits, saved routers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from unitcost.errors import InputError
from unitcost.routing.datasets import Outcomes
from unitcost.routing.evaluate import route_eval
from unitcost.routing.learned import LearnedRouter, TrainingSet, train_router
from unitcost.routing.metrics import apgr, cpt, optimal_curve, threshold_curve


def outcomes(n: int, judge: bool = False, seed: int = 101) -> Outcomes:
    """Long prompts with many numbers are the ones the weak model fails. (Its own seed: the
    splits draw from default_rng(0), which must not pick the hard prompts.)"""
    rng = np.random.default_rng(seed)
    hard = rng.random(n) < 0.4
    prompts = [
        f"Compute {' + '.join(str(k) for k in range(int(h) * 30 + 2))} for case {i}"
        for i, h in enumerate(hard)
    ]
    weak = np.where(hard, rng.random(n) < 0.2, rng.random(n) < 0.9).astype(float)
    strong = np.maximum(weak, (rng.random(n) < 0.8).astype(float))
    if judge:  # a 1–10 judge's scores
        weak, strong = 1 + 9 * weak, 1 + 9 * strong
    groups = [f"g{i % 6}" for i in range(n)]
    costs = {"w": np.full(n, 0.001), "s": np.full(n, 0.01)}
    return Outcomes("synthetic", prompts, groups, {"w": weak, "s": strong}, costs, "test prices")


def test_judge_scores_keep_the_oracle_and_accuracy_on_their_scale() -> None:
    result = route_eval(outcomes(300, judge=True), "w", "s", split="random", reps=50)
    assert result.unit == "points"
    assert 1 <= result.weak_acc < result.strong_acc <= 10  # points, not "775%"
    assert result.metrics["oracle"]["APGR"] > result.metrics["learned"]["APGR"] > 0.55
    oracle = result.curves["oracle"]
    assert oracle.accuracy[0] == pytest.approx(result.weak_acc)
    assert oracle.accuracy.max() == pytest.approx(result.strong_acc)


def test_the_oracle_spends_strong_calls_on_the_largest_gains_first() -> None:
    weak, strong = np.asarray([5.0, 5.0, 2.0, 9.0]), np.asarray([6.0, 9.0, 2.0, 8.0])
    curve = optimal_curve(weak, strong, steps=4, unit=1.0)
    # 25%: the +4 query; 50%: and the +1 one; after that nothing gains (never a loss)
    assert curve.accuracy.tolist() == pytest.approx([5.25, 6.25, 6.5, 6.5, 6.5])


def test_no_gap_gives_nan_metrics_not_a_crash() -> None:
    same = np.asarray([1.0, 0.0, 1.0, 0.0])
    curve = threshold_curve(np.arange(4.0), same, same)
    assert math.isnan(apgr(curve, 50.0, 50.0)) and math.isnan(cpt(curve, 0.5, 50.0, 50.0))


def test_small_splits_give_a_clear_error_or_nan_never_a_traceback() -> None:
    tiny = outcomes(12)
    for seed in range(4):  # some of these splits have no weak→strong gap in the test part
        result = route_eval(tiny, "w", "s", split="random", test_fraction=0.5, seed=seed, reps=20)
        for m in result.metrics.values():
            assert np.isnan(m["APGR"]) or -2 < m["APGR"] < 3
            assert all(np.isnan(m[c]) or 0 <= m[c] <= 100 for c in ("CPT(50%)", "CPT(80%)"))
    with pytest.raises(InputError, match="the split leaves"):
        route_eval(outcomes(3), "w", "s", split="random", test_fraction=0.1)


def test_the_saving_threshold_comes_from_training_prompts_only() -> None:
    data = outcomes(400)
    result = route_eval(data, "w", "s", split="random", reps=50)
    s = result.saving
    assert s["threshold_from"] == "training prompts"
    band = s["saving_band"]
    assert band["low"] <= s["saving_pct"] <= band["high"]
    # flipping the *test* outcomes cannot move a threshold chosen on training prompts
    test_mask = np.random.default_rng(0).random(len(data)) < 0.25
    flipped = Outcomes(
        data.name,
        data.prompts,
        data.groups,
        {"w": data.scores["w"], "s": np.where(test_mask, 1 - data.scores["s"], data.scores["s"])},
        data.costs,
        data.cost_source,
    )
    other = route_eval(flipped, "w", "s", split="random", reps=50)
    assert other.saving["threshold"] == pytest.approx(s["threshold"])


def test_a_saved_router_is_scored_without_retraining(tmp_path: Path) -> None:
    data = outcomes(300)
    router = train_router([TrainingSet(data, [("w", "s")])])
    path = tmp_path / "router.json"
    router.save(path)
    loaded = LearnedRouter.load(path)
    other = outcomes(200, seed=7)
    result = route_eval(other, "w", "s", router=loaded, reps=50)
    assert result.saved_router and result.n_train == 0 and result.n_test == 200
    assert result.router is loaded
    assert np.allclose(loaded.scores(other.prompts), router.scores(other.prompts))
    assert result.metrics["learned"]["APGR"] > result.metrics["random"]["APGR"]
    assert result.saving["threshold_from"] == "the router's training"


def test_an_old_router_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    old = tmp_path / "old.json"
    old.write_text('{"classifier": {}, "max_tokens": 16}')
    with pytest.raises(InputError, match="retrain with `unitcost route-eval --save-router"):
        LearnedRouter.load(old)
