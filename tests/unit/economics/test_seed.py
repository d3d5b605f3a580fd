"""The seed article's method, pinned exactly."""

import pytest

from unitcost.economics.seed import energy_check, seed_cost

OVERHEADS = {"energy & cooling": 0.20, "networking & serving": 0.10}


def test_compute_only_cost_per_token_matches_the_article() -> None:
    cost = seed_cost(10.0, 33.0, {})
    assert cost.usd_per_token == pytest.approx(10.0 / (33.0 * 3600.0), rel=1e-9)
    assert round(cost.usd_per_token, 7) == 0.0000842


def test_additive_overheads_give_0_1094_per_1k() -> None:
    cost = seed_cost(10.0, 33.0, OVERHEADS, "add")
    assert cost.usd_per_1k_tokens == pytest.approx(10.0 / (33.0 * 3600.0) * 1.30 * 1000, rel=1e-9)
    assert round(cost.usd_per_1k_tokens, 4) == 0.1094


def test_compounding_overheads_give_0_1111_per_1k() -> None:
    cost = seed_cost(10.0, 33.0, OVERHEADS, "compound")
    assert cost.usd_per_1k_tokens == pytest.approx(10.0 / (33.0 * 3600.0) * 1.32 * 1000, rel=1e-9)
    assert round(cost.usd_per_1k_tokens, 4) == 0.1111


def test_each_overhead_is_its_own_line() -> None:
    lines = seed_cost(10.0, 33.0, OVERHEADS, "compound").per_token.lines
    assert [ln.name for ln in lines] == ["compute", "energy & cooling", "networking & serving"]
    compute = 10.0 / (33.0 * 3600.0)
    assert lines[2].value == pytest.approx(compute * 1.2 * 0.1, rel=1e-12)


def test_flat_energy_overhead_is_held_against_power_pue_and_price() -> None:
    check = energy_check(10.0, 0.20, power_watts=700, pue=1.3, electricity_usd_per_kwh=0.10)
    assert check.bottom_up_usd_per_hour == pytest.approx(0.7 * 1.3 * 0.10, rel=1e-12)
    assert check.bottom_up_share_of_tco < 0.01
    assert check.flat_usd_per_hour == pytest.approx(2.0)
    assert "0.91% of TCO" in check.message and "22×" in check.message
