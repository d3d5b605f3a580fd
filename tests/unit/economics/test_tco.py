import numpy as np
import pytest

from unitcost.catalog import load_catalog
from unitcost.economics.tco import HOURS_PER_YEAR, TCOInputs, accelerator_hour, capital_recovery
from unitcost.errors import InputError

H100 = load_catalog().accelerator("H100-SXM")


def test_straight_line_amortisation_when_cost_of_capital_is_zero() -> None:
    tco = accelerator_hour(TCOInputs(H100, purchase_usd=30_000, lifetime_years=4))
    assert tco.cost.line("capex").value == pytest.approx(30_000 / 4 / HOURS_PER_YEAR)


def test_cost_of_capital_uses_the_capital_recovery_factor() -> None:
    # 8% over 4 years: r / (1 - (1+r)^-n) = 0.301921 per dollar per year
    assert capital_recovery(0.08, 4) == pytest.approx(0.3019208, rel=1e-6)
    tco = accelerator_hour(
        TCOInputs(H100, purchase_usd=30_000, lifetime_years=4, cost_of_capital=0.08)
    )
    assert tco.cost.line("capex").value == pytest.approx(
        30_000 * 0.3019208 / HOURS_PER_YEAR, rel=1e-6
    )


def test_capital_recovery_is_vectorised_and_handles_zero_rates() -> None:
    got = capital_recovery(np.array([0.0, 0.08]), np.array([4.0, 4.0]))
    assert got == pytest.approx([0.25, 0.3019208], rel=1e-6)


def test_energy_is_power_times_load_times_pue_times_price() -> None:
    tco = accelerator_hour(
        TCOInputs(
            H100,
            lease_usd_per_hour=2.0,
            average_load=0.5,
            pue=1.4,
            electricity_usd_per_kwh=0.1,
            wue_l_per_kwh=0.4,
            carbon_g_per_kwh=400,
        )
    )
    assert tco.cost.line("energy").value == pytest.approx(0.7 * 0.5 * 1.4 * 0.1)
    assert tco.footprint.facility_kwh == pytest.approx(0.7 * 0.5 * 1.4)
    assert tco.footprint.water_l == pytest.approx(0.7 * 0.5 * 0.4)  # WUE is per IT kWh
    assert tco.footprint.carbon_g == pytest.approx(0.7 * 0.5 * 1.4 * 400)
    assert "catalog H100-SXM.tdp_watts" in tco.cost.line("energy").source


def test_serving_overhead_is_a_share_of_the_other_lines() -> None:
    tco = accelerator_hour(
        TCOInputs(
            H100,
            lease_usd_per_hour=2.0,
            networking_usd_per_hour=0.5,
            serving_overhead=0.1,
            average_load=0.0,
        )
    )
    assert tco.cost.line("serving overhead").value == pytest.approx(0.25)
    assert tco.cost.total == pytest.approx(2.75)


def test_lease_wins_over_purchase_and_one_of_them_is_required() -> None:
    tco = accelerator_hour(TCOInputs(H100, purchase_usd=30_000, lease_usd_per_hour=3.0))
    assert next(ln.name for ln in tco.cost.lines) == "lease"
    with pytest.raises(InputError, match="purchase_usd .* or lease_usd_per_hour"):
        accelerator_hour(TCOInputs(H100))


def test_a_chip_without_published_power_asks_for_it() -> None:
    tpu = load_catalog().accelerator("TPU-v5e")
    with pytest.raises(InputError, match="power_watts"):
        accelerator_hour(TCOInputs(tpu, lease_usd_per_hour=1.2))
    tco = accelerator_hour(
        TCOInputs(
            tpu,
            lease_usd_per_hour=1.2,
            power_watts=200,
            pue=1.1,
            electricity_usd_per_kwh=0.08,
            average_load=1.0,
        )
    )
    assert tco.cost.line("energy").value == pytest.approx(0.2 * 1.1 * 0.08)
