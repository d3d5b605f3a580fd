"""The plan file: candidates priced from a lease or a purchase, facility from a preset."""

import pytest

from unitcost.economics.planspec import parse_plan, plan_inputs
from unitcost.economics.tco import HOURS_PER_YEAR
from unitcost.errors import InputError


def spec(**over: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "name": "p",
        "model": "llama-3.3-70b",
        "demand": [{"input_tokens": 1000, "output_tokens": 250, "requests_per_s": 10}],
        "candidates": [
            {"accelerator": "H100-SXM", "precision": "fp8", "lease_usd_per_hour": 2.5},
            {
                "accelerator": "H200",
                "precision": "fp8",
                "purchase_usd": 32000,
                "lifetime_years": 4,
                "cost_of_capital": 0.0,
                "lease_includes_power": False,
            },
        ],
        "facility": {"preset": "hyperscale-us-ppa", "power_cap_mw": 2.0},
    }
    raw.update(over)
    return raw


def test_candidates_are_priced_and_sized_with_their_sources() -> None:
    inp = plan_inputs(parse_plan(spec()))
    h100, h200 = inp.candidates
    assert h100.accelerators == 2  # 70B FP8 needs two 80 GB GPUs for room to batch
    assert h200.accelerators == 1
    assert h100.usd_per_accelerator_hour == 2.5 and not h100.energy_billed
    assert h200.usd_per_accelerator_hour == pytest.approx(32000 / 4 / HOURS_PER_YEAR)
    assert h200.energy_billed  # owned hardware pays for its power
    f = inp.facility
    assert f.pue == 1.10 and f.usd_per_mwh == pytest.approx(62.29)
    assert "LevelTen" in dict(f.sources)["usd_per_mwh"]


def test_bad_plans_name_the_field() -> None:
    with pytest.raises(InputError, match=r"^p: candidates: H100-SXM fp8 is listed twice"):
        parse_plan(
            spec(candidates=[{"accelerator": "H100-SXM", "precision": "fp8"}] * 2), origin="p"
        )
    with pytest.raises(InputError, match=r"demand.*at least 1"):
        parse_plan(spec(demand=[]))
    with pytest.raises(InputError, match=r"^facility.preset: unknown facility preset 'mars'"):
        plan_inputs(parse_plan(spec(facility={"preset": "mars"})))


def test_a_candidate_is_owned_or_rented_not_both() -> None:
    both = {"accelerator": "H100-SXM", "lease_usd_per_hour": 2.5, "purchase_usd": 30000}
    with pytest.raises(InputError, match="purchase_usd .to own. or lease_usd_per_hour .to rent."):
        parse_plan(spec(candidates=[both]))
