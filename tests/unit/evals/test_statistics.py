"""Intervals and paired tests against published values and exact small cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from unitcost.errors import InputError
from unitcost.evals.statistics import (
    Resampler,
    bootstrap,
    mcnemar,
    mcnemar_counts,
    newcombe_paired,
    paired_bootstrap,
    paired_difference,
    quality_interval,
    wilson,
)


def test_wilson_for_8_of_10() -> None:
    # Wilson (1927) score interval at 95%: 0.4902 to 0.9433 (Newcombe 1998, Stat Med 17:857,
    # method 3, gives the same for 8/10 to four places)
    w = wilson(8, 10)
    assert (round(w.low, 4), round(w.high, 4)) == (0.4902, 0.9433)
    assert w.point == 0.8


def test_wilson_at_the_ends_is_exact_and_stays_inside_0_1() -> None:
    none, every = wilson(0, 10), wilson(10, 10)
    assert none.low == 0.0 and round(none.high, 4) == 0.2775
    assert every.high == 1.0 and round(every.low, 4) == 0.7225
    assert math.isnan(wilson(0, 0).point)


def test_wilson_narrows_with_more_data() -> None:
    small, large = wilson(80, 100), wilson(800, 1000)
    assert large.high - large.low < small.high - small.low


def test_mcnemar_on_agrestis_textbook_table() -> None:
    # Agresti, An Introduction to Categorical Data Analysis (2nd ed.), Table 8.1: the same
    # 1,600 people rate the Prime Minister's performance in two surveys, approve/disapprove
    # 794 / 150 / 86 / 570; McNemar z² = (86 − 150)² / (86 + 150) = 17.36, P < 0.001
    m = mcnemar_counts(150, 86, correction=False)
    assert round(m.statistic, 2) == 17.36
    assert m.p_value < 0.001
    corrected = mcnemar_counts(150, 86)
    assert corrected.statistic == pytest.approx(63**2 / 236)
    assert corrected.p_value > m.p_value


def test_mcnemar_exact_for_few_discordant_pairs() -> None:
    # b = 1, c = 6: two-sided binomial p = 2 × (C(7,0) + C(7,1)) / 2^7 = 0.125
    m = mcnemar_counts(1, 6)
    assert m.method == "exact binomial"
    assert m.p_value == pytest.approx(0.125)
    assert mcnemar_counts(0, 0).p_value == 1.0


def test_mcnemar_from_paired_scores_counts_only_discordant_items() -> None:
    a = np.array([1, 1, 1, 0, 0, 1, 1, 1])
    b = np.array([1, 0, 0, 0, 1, 0, 0, 1])
    m = mcnemar(a, b)
    assert (m.b, m.c) == (4, 1)
    with pytest.raises(InputError, match="0/1"):
        mcnemar(np.array([0.5, 1.0]), np.array([1.0, 0.0]))


def test_resampler_sums_match_explicit_resamples() -> None:
    values = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    got = Resampler(5, resamples=50, seed=3, chunk=7).sums(values)[:, 0]
    rng = np.random.default_rng(3)
    want = []
    for start in range(0, 50, 7):
        picks = rng.integers(0, 5, size=(min(7, 50 - start), 5))
        want += list(values[picks].sum(axis=1))
    assert np.allclose(got, want)


def test_bootstrap_interval_of_a_mean_covers_it_and_is_reproducible() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(10.0, 2.0, size=400)
    first = bootstrap([x], lambda s: s[..., 0] / x.size, resamples=500, seed=1)
    again = bootstrap([x], lambda s: s[..., 0] / x.size, resamples=500, seed=1)
    assert first == again
    assert first.low < x.mean() < first.high
    # about ±1.96 standard errors (2 / √400 = 0.1)
    assert 0.3 < first.high - first.low < 0.5


def test_quality_interval_is_wilson_for_0_1_and_bootstrap_otherwise() -> None:
    assert quality_interval([1, 0, 1, 1]).method == "wilson"
    graded = quality_interval([0.5, 0.25, 1.0, 0.75])
    assert graded.method == "bootstrap"
    assert graded.low <= 0.625 <= graded.high


def test_newcombe_paired_interval_on_a_published_table() -> None:
    # Fagerland, Lydersen & Laake, Statistical Analysis of Contingency Tables (2017), ch. 8,
    # as checked in the R package contingencytables: the table 59 / 6 / 16 / 80 gives
    # -0.0621 (95% CI -0.1186 to -0.0046) by Newcombe's square-and-add method
    d = newcombe_paired(59, 6, 16, 80)
    assert (round(d.point, 4), round(d.low, 4), round(d.high, 4)) == (-0.0621, -0.1186, -0.0046)


def test_paired_difference_is_not_fooled_by_a_few_one_way_discordant_items() -> None:
    # 4 of 200 items flip, all the same way: McNemar's exact p = 0.125, not significant;
    # the percentile bootstrap excludes zero here, Newcombe's interval does not
    a = np.array([1] * 170 + [0] * 30)
    b = a.copy()
    b[:4] = 0
    assert mcnemar(a, b).p_value == pytest.approx(0.125)
    assert paired_bootstrap(a, b, resamples=2000).low > 0
    d = paired_difference(a, b)
    assert d.method == "newcombe" and d.low < 0 < d.high
    graded = paired_difference(a * 0.5, b * 0.5)
    assert graded.method == "paired bootstrap"


def test_paired_bootstrap_keeps_pairs_together() -> None:
    rng = np.random.default_rng(2)
    base = rng.random(300)
    # b is a plus a constant: every pair differs by exactly 0.1, however items vary
    d = paired_bootstrap(base + 0.1, base)
    assert d.point == pytest.approx(0.1)
    assert d.low == pytest.approx(0.1) and d.high == pytest.approx(0.1)
    with pytest.raises(InputError, match="same"):
        paired_bootstrap([1.0, 2.0], [1.0])
