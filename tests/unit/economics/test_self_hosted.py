"""Self-hosted deployments: energy on a lease, the default batch, calibrated efficiencies."""

from pathlib import Path
from typing import Any

import pytest

from unitcost.economics.scenario import evaluate, monte_carlo, tornado
from unitcost.economics.spec import load_scenario, parse_scenario
from unitcost.errors import InputError


def deployment(**self_hosted: Any) -> Any:
    spec = {"accelerator": "H100-SXM", "model": "llama-3.1-8b", "precision": "fp8", **self_hosted}
    s = parse_scenario({"name": "t", "deployments": {"d": {"self_hosted": spec}}})
    return evaluate(s).deployments["d"]


def test_energy_on_a_lease_is_a_footprint_not_a_cost_unless_asked() -> None:
    leased = deployment(lease_usd_per_hour=2.5, pue=1.3, electricity_usd_per_kwh=0.1)
    billed = deployment(
        lease_usd_per_hour=2.5, pue=1.3, electricity_usd_per_kwh=0.1, lease_includes_power=False
    )
    assert leased.tco.cost.line("energy").value == 0.0
    assert "lease includes power" in leased.tco.cost.line("energy").source
    assert any("--lease-includes-power false" in n for n in leased.notes)
    assert billed.tco.cost.line("energy").value == pytest.approx(0.7 * 0.7 * 1.3 * 0.1)
    assert leased.unit_cost.wh_per_1k_output == pytest.approx(billed.unit_cost.wh_per_1k_output)
    owned = deployment(purchase_usd=30_000, pue=1.3, electricity_usd_per_kwh=0.1)
    assert owned.tco.cost.line("energy").value > 0


def test_a_ppa_price_per_mwh_is_the_same_as_per_kwh() -> None:
    mwh = deployment(purchase_usd=30_000, electricity_usd_per_mwh=62.29)
    kwh = deployment(purchase_usd=30_000, electricity_usd_per_kwh=0.06229)
    assert mwh.unit_cost.usd_per_1k_output == pytest.approx(kwh.unit_cost.usd_per_1k_output)
    with pytest.raises(InputError, match="give electricity_usd_per_kwh or electricity_usd_per_mwh"):
        deployment(electricity_usd_per_kwh=0.1, electricity_usd_per_mwh=100)


def test_an_unset_batch_is_chosen_printed_and_beats_the_old_default_of_32() -> None:
    spec = {"accelerator": "H200", "accelerators": 8, "model": "deepseek-v3", "precision": "fp8"}
    chosen = deployment(**spec)
    assert chosen.batch is not None and chosen.batch.batch > 32
    assert any(n.startswith(f"batch {chosen.batch.batch:,.0f}: ") for n in chosen.notes)
    old = deployment(**spec, batch_size=32)
    assert old.batch is None
    assert chosen.unit_cost.usd_per_1k_output < old.unit_cost.usd_per_1k_output / 5


def test_efficiencies_follow_the_vendor_and_stack_unless_given() -> None:
    amd = deployment(accelerator="MI300X", stack="vllm", lease_usd_per_hour=2.0)
    assert amd.efficiency is not None and amd.efficiency.mbu_from.startswith("AMD fp8 vllm")
    given = deployment(lease_usd_per_hour=2.0, mfu=0.3, bandwidth_efficiency=0.5, batch_size=8)
    assert "MFU 0.3, bandwidth efficiency 0.5" in given.throughput.source


def test_procurement_ranges_reach_gross_margin_through_pue_and_energy_price() -> None:
    spec = load_scenario(Path(__file__).parents[3] / "src/unitcost/examples/procurement-fleet.yaml")
    name, base, bars = tornado(spec)
    assert name == "llama-70b-owned.gross_margin" and 0 < base < 1
    swing = {b.input.rsplit(".", 1)[1]: b for b in bars}
    assert swing["pue"].output_at_low > swing["pue"].output_at_high  # better PUE, more margin
    ppa = swing["electricity_usd_per_mwh"]
    assert ppa.output_at_low > ppa.output_at_high
    assert swing["wue_l_per_kwh"].swing == 0  # water is a footprint, not a cost here
    mc = monte_carlo(spec, samples=2000, seed=1).percentiles()
    water = mc["llama-70b-owned.water_ml_per_1k_output"]
    assert water["p5"] < water["p95"]


def test_training_without_an_mfu_uses_published_runs_on_that_accelerator() -> None:
    s = parse_scenario(
        {
            "name": "t",
            "deployments": {"d": {"list_price": {"input_usd_per_m": 1, "output_usd_per_m": 2}}},
            "training": [
                {
                    "deployment": "d",
                    "accelerator": "H800",
                    "params_active_b": 37,
                    "training_tokens_t": 14.8,
                    "precision": "fp8",
                    "usd_per_gpu_hour": 2.0,
                    "lifetime_tokens_served": 1e15,
                }
            ],
        }
    )
    # DeepSeek-V3's own run is the only H800 point: its 2,664K GPU-hours come back, priced
    # against the BF16 peak as the calibration rates them even though it trained in FP8
    t = evaluate(s).training["d"]
    assert t.gpu_hours == pytest.approx(2.664e6, rel=1e-6)
    assert t.usd == pytest.approx(2.664e6 * 2.0, rel=1e-6)
