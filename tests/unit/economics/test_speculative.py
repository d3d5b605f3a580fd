"""Speculative decoding and distillation terms: Leviathan et al.'s formulas and their edges."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from unitcost.economics.speculative import (
    acceptance_from_tokens_per_step,
    best_draft_length,
    distillation,
    expected_tokens_per_step,
    speculative,
)
from unitcost.errors import InputError


def test_closed_form_matches_a_hand_computed_case() -> None:
    # α = 0.8, γ = 4: (1 - 0.8^5) / 0.2 = (1 - 0.32768) / 0.2 = 3.3616
    assert expected_tokens_per_step(0.8, 4) == pytest.approx(3.3616, abs=1e-12)
    s = speculative(acceptance=0.8, draft_length=4, cost_ratio=0.05, target_usd_per_1k_output=1.0)
    assert s.speedup == pytest.approx(3.3616 / 1.2)  # E / (γc + 1), Theorem 3.8
    assert s.usd_per_1k_output == pytest.approx(1.2 / 3.3616)
    assert s.compute_factor == pytest.approx((4 * 0.05 + 4 + 1) / 3.3616)  # Theorem 3.11


@given(st.floats(0.0, 0.999), st.integers(0, 12))
def test_closed_form_equals_the_geometric_sum(alpha: float, gamma: int) -> None:
    closed = (1 - alpha ** (gamma + 1)) / (1 - alpha)
    assert expected_tokens_per_step(alpha, gamma) == pytest.approx(closed, rel=1e-9)
    assert 1.0 <= expected_tokens_per_step(alpha, gamma) <= gamma + 1


def test_edges_no_acceptance_and_full_acceptance() -> None:
    assert expected_tokens_per_step(0.0, 5) == 1.0
    assert expected_tokens_per_step(1.0, 5) == 6.0  # the closed form's 0/0
    # nothing accepted: the draft's time is pure overhead
    s = speculative(acceptance=0.0, draft_length=3, cost_ratio=0.1)
    assert s.speedup == pytest.approx(1 / 1.3)
    assert s.cost_factor == pytest.approx(1.3)


def test_vectorised_over_monte_carlo_draws() -> None:
    alphas = np.array([0.5, 0.7, 0.9])
    out = speculative(acceptance=alphas, draft_length=4, cost_ratio=0.05)
    assert np.all(np.diff(np.asarray(out.speedup)) > 0)  # more acceptance, more speed-up


def test_best_draft_length_grows_with_acceptance_and_shrinks_with_draft_cost() -> None:
    assert best_draft_length(0.0, 0.05) == 0  # never worth speculating
    low, high = best_draft_length(0.6, 0.05), best_draft_length(0.9, 0.05)
    assert 0 < low < high
    assert best_draft_length(0.9, 0.3) < high


@pytest.mark.parametrize("alpha", [0.1, 0.55, 0.93])
def test_acceptance_is_recovered_from_tokens_per_step(alpha: float) -> None:
    e = float(expected_tokens_per_step(alpha, 5))
    assert acceptance_from_tokens_per_step(e, 5) == pytest.approx(alpha, abs=1e-9)


def test_bad_inputs_name_the_field() -> None:
    with pytest.raises(InputError, match="acceptance"):
        speculative(acceptance=1.2, draft_length=4, cost_ratio=0.1)
    with pytest.raises(InputError, match="draft_length"):
        expected_tokens_per_step(0.5, -1)
    with pytest.raises(InputError, match="tokens_per_step"):
        acceptance_from_tokens_per_step(7.0, 5)


def test_distilled_student_against_its_teacher() -> None:
    d = distillation(
        student_usd_per_1k=0.0002,
        teacher_usd_per_1k=0.002,
        one_off_usd=1000.0,
        teacher_tokens_generated=2e9,  # 2B tokens of training data at the teacher's price
        lifetime_tokens_served=1e10,
    )
    assert d.one_off_usd == pytest.approx(1000.0 + 2e6 * 0.002)  # $5,000 in all
    assert d.usd_per_1k == pytest.approx(0.0002 + 5000.0 / 1e7)
    assert d.cost_ratio == pytest.approx(d.usd_per_1k / 0.002)
    # the saving of $1.8e-6 per token pays $5,000 back after 2.78B tokens
    assert d.breakeven_tokens == pytest.approx(5000.0 / 1.8e-6)


def test_a_student_that_costs_more_never_breaks_even() -> None:
    d = distillation(student_usd_per_1k=0.003, teacher_usd_per_1k=0.002, one_off_usd=10.0)
    assert d.breakeven_tokens == float("inf")
    assert d.cost_ratio > 1
