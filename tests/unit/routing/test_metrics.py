"""RouteLLM's metrics on constructed outcomes where the right answer is known."""

import numpy as np
import pytest

from unitcost.routing.classifier import LogisticRegression
from unitcost.routing.metrics import apgr, cpt, optimal_curve, random_scores, threshold_curve

rng = np.random.default_rng(0)
N = 4000
weak = (rng.random(N) < 0.6).astype(float)
strong = np.maximum(weak, (rng.random(N) < 0.5).astype(float))  # strong ⊇ weak
needed = (strong > weak).astype(float)
WEAK, STRONG = weak.mean() * 100, strong.mean() * 100


def test_a_perfect_router_recovers_the_gap_with_the_fewest_strong_calls() -> None:
    perfect = threshold_curve(needed + rng.random(N) * 0.01, weak, strong)
    rand = threshold_curve(random_scores(N), weak, strong)
    assert apgr(perfect, WEAK, STRONG) > 0.75
    assert apgr(rand, WEAK, STRONG) == pytest.approx(0.5, abs=0.05)
    share_needed = needed.mean() * 100
    assert cpt(perfect, 0.5, WEAK, STRONG) == pytest.approx(share_needed / 2, abs=4)
    assert cpt(rand, 0.5, WEAK, STRONG) == pytest.approx(50, abs=6)


def test_curve_endpoints_are_all_weak_and_all_strong() -> None:
    curve = threshold_curve(random_scores(N, seed=3), weak, strong)
    assert curve.strong_pct[0] == 0 and curve.accuracy[0] == pytest.approx(WEAK)
    assert curve.strong_pct[-1] == 100 and curve.accuracy[-1] == pytest.approx(STRONG)
    assert len(curve.strong_pct) == 11  # RouteLLM's 10 bins → 11 thresholds


def test_oracle_spends_strong_calls_only_where_they_help() -> None:
    oracle = optimal_curve(weak, strong)
    assert oracle.accuracy[0] == pytest.approx(WEAK)
    assert oracle.accuracy.max() == pytest.approx(STRONG)
    first_full = oracle.strong_pct[np.argmax(oracle.accuracy >= STRONG - 1e-9)]
    assert first_full <= needed.mean() * 100 + 10


def test_costs_follow_the_routing() -> None:
    curve = threshold_curve(
        random_scores(N), weak, strong, weak_cost=np.full(N, 1.0), strong_cost=np.full(N, 10.0)
    )
    assert curve.cost is not None
    assert curve.cost[0] == pytest.approx(N) and curve.cost[-1] == pytest.approx(10 * N)


def test_logistic_regression_learns_a_separable_rule() -> None:
    x = rng.normal(size=(2000, 5))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(float)
    clf = LogisticRegression.fit(x, y, l2=0.1)
    assert ((clf.predict(x) > 0.5) == (y == 1)).mean() > 0.97
    back = LogisticRegression.from_dict(clf.to_dict())
    assert np.allclose(back.predict(x), clf.predict(x), atol=1e-5)
