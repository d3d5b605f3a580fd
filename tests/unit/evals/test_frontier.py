"""Dominance only where intervals separate; a router against the line between its members."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.unit.evals.recorded import recorded_run
from unitcost.errors import InputError
from unitcost.evals.frontier import ItemOutcomes, beats_random_mix, frontier
from unitcost.evals.results import summarise


def test_dominated_only_when_the_paired_interval_separates(tmp_path: Path) -> None:
    n = 200
    rng = np.random.default_rng(0)
    good = (rng.random(n) < 0.9).astype(int).tolist()
    worse = [g if i % 4 else 0 for i, g in enumerate(good)]  # loses a quarter of good's wins
    nearly = [g if i % 50 else 0 for i, g in enumerate(good)]  # loses 2% of them
    _, run = recorded_run(
        tmp_path / "a",
        {
            "good": (good, [1000] * n),
            "worse": (worse, [1000] * n),  # same cost, clearly worse: dominated
            "nearly": (nearly, [1000] * n),  # same cost, a hair worse: a tie
            "cheap": ([0] * n, [10] * n),  # far worse but far cheaper: on the frontier
        },
    )
    points = {p.variant: p for p in frontier(summarise(run, resamples=500)[0])}
    assert points["good"].on_frontier and points["cheap"].on_frontier
    assert set(points["worse"].dominated_by) == {"good", "nearly"}
    assert points["nearly"].on_frontier and "good" in points["nearly"].tied_with


def test_a_variant_whose_every_call_failed_dominates_nothing(tmp_path: Path) -> None:
    """It costs nothing and scores 0: a working variant that also scores 0 was reported as
    dominated by it, and the broken one stood on the frontier."""
    n = 40
    _, run = recorded_run(
        tmp_path / "f",
        {"working": ([0] * n, [1000] * n), "broken": ([0] * n, [0] * n)},
        failing=frozenset({"broken"}),
    )
    points = {p.variant: p for p in frontier(summarise(run, resamples=300)[0])}
    assert points["working"].on_frontier and not points["working"].dominated_by
    assert points["broken"].failed and not points["broken"].on_frontier


def _line_at(weak: tuple[float, float], strong: tuple[float, float], cost: float) -> float:
    t = (cost - weak[0]) / (strong[0] - weak[0])
    return weak[1] + t * (strong[1] - weak[1])


def test_an_oracle_router_beats_the_random_mix() -> None:
    rng = np.random.default_rng(1)
    n = 400
    weak_s = (rng.random(n) < 0.6).astype(float)
    strong_s = np.maximum(weak_s, (rng.random(n) < 0.8).astype(float))
    weak_c, strong_c = np.full(n, 0.001), np.full(n, 0.02)
    # the oracle sends to the strong model only what the weak one gets wrong
    use_strong = (weak_s == 0) & (strong_s == 1)
    routed_s = np.where(use_strong, strong_s, weak_s)
    routed_c = np.where(use_strong, strong_c, weak_c)
    mix = beats_random_mix(
        ItemOutcomes.of(weak_s, weak_c),
        ItemOutcomes.of(strong_s, strong_c),
        ItemOutcomes.of(routed_s, routed_c),
        resamples=1000,
    )
    expected = routed_s.mean() - _line_at(
        (0.001, weak_s.mean()), (0.02, strong_s.mean()), routed_c.mean()
    )
    assert mix.delta == pytest.approx(expected)
    assert mix.beats and mix.ci.low > 0
    assert 0 < mix.share < 1
    assert "beats the random mix" in mix.verdict


def test_a_random_router_does_not_beat_the_mix() -> None:
    rng = np.random.default_rng(2)
    n = 400
    weak_s = (rng.random(n) < 0.6).astype(float)
    strong_s = (rng.random(n) < 0.9).astype(float)
    weak_c, strong_c = np.full(n, 0.001), np.full(n, 0.02)
    coin = rng.random(n) < 0.4  # 40% to the strong model, regardless of the question
    routed = ItemOutcomes.of(np.where(coin, strong_s, weak_s), np.where(coin, strong_c, weak_c))
    mix = beats_random_mix(
        ItemOutcomes.of(weak_s, weak_c), ItemOutcomes.of(strong_s, strong_c), routed
    )
    assert mix.ci.low < 0 < mix.ci.high
    assert not mix.beats
    assert "does not beat" in mix.verdict


def test_outcomes_must_cover_the_same_items() -> None:
    a = ItemOutcomes.of([1, 0], [1.0, 1.0])
    with pytest.raises(InputError, match="same items"):
        beats_random_mix(a, a, ItemOutcomes.of([1], [1.0]))
    with pytest.raises(InputError, match="one value per item"):
        ItemOutcomes.of([1, 0], [1.0])
