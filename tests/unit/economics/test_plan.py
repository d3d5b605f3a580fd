"""The planner: an optimum checked by hand, the power cap binding, infeasible demands."""

from dataclasses import replace

import pytest

from unitcost.catalog import load_catalog
from unitcost.economics.capacity import Bucket, Candidate, Capacity
from unitcost.economics.plan import Facility, PlanInputs, diagnose, plan, solve
from unitcost.errors import InputError

CAT = load_catalog()
MODEL = CAT.model("llama-3.1-8b")
H100 = CAT.accelerator("H100-SXM")

# Two made-up kinds whose capacities are given, so the optimum can be worked by hand:
# A costs $2/h and serves 10 req/s per replica at 300 W; B costs $3/h, 20 req/s, 1000 W.
A = Candidate("A", H100, MODEL, "fp8", 1, 2.0, gpu_watts=300.0, idle_share=0.0)
B = Candidate("B", H100, MODEL, "fp8", 1, 3.0, gpu_watts=1000.0, idle_share=0.0)
BUCKET = Bucket(1000, 250, 35.0)
CAPS = {("A", BUCKET.name): Capacity(10.0), ("B", BUCKET.name): Capacity(20.0)}


def inputs(**facility: float) -> PlanInputs:
    return PlanInputs((BUCKET,), (A, B), Facility(**facility), max_load=0.8)


def counts(p: object) -> dict[str, int]:
    return {k.kind.name: k.replicas for k in p.kinds}  # type: ignore[attr-defined]


def test_the_optimum_matches_the_hand_worked_one() -> None:
    # at 80% load A gives 8 and B 16 req/s; 35 req/s: B×3 $9, A×5 $10, A×3+B×1 $9, A×1+B×2 $8
    p = plan(inputs(), CAPS)
    assert counts(p) == {"A": 1, "B": 2}
    assert p.total("usd_per_hour") == pytest.approx(8.0)
    assert sum(sum(k.served.values()) for k in p.kinds) == pytest.approx(35.0)
    assert all(k.utilisation <= 0.8 + 1e-9 for k in p.kinds)
    assert p.binding == ["cost-bound: no power or availability limit changes the least-cost mix"]
    relaxed = solve(inputs(), CAPS, relax=True)  # the LP would buy 35/16 replicas of B
    assert relaxed.objective == pytest.approx(35 / 16 * 3.0)


def test_a_binding_power_cap_moves_the_mix_to_the_lower_power_kind() -> None:
    # A×1+B×2 draws at least 8/10·300 + 27/20·1000 = 1,590 W; A×3+B×1 can do 24/10·300 +
    # 11/20·1000 = 1,270 W for $9, the cheapest mix under a 1,500 W cap
    p = plan(inputs(power_cap_mw=0.0015), CAPS)
    assert counts(p) == {"A": 3, "B": 1}
    assert p.total("facility_mw") <= 0.0015 + 1e-12
    assert p.binding[0].startswith("power-bound: the 0.0015 MW cap raises the cost by $1/h")


def test_a_cap_below_the_least_power_mix_is_infeasible_and_says_so() -> None:
    # serving 35 req/s on A alone draws 35/10·300 = 1,050 W, the least any mix can
    with pytest.raises(InputError) as exc:
        plan(inputs(power_cap_mw=0.001), CAPS)
    message = exc.value.message
    assert message.startswith(
        "power_cap_mw: serving the demand needs at least 0.00105 MW at PUE 1 (the least-power mix)"
    )
    assert "over the cap of 0.001 MW; at most 95% of the demand fits under it" in message


def test_too_few_accelerators_name_what_is_short() -> None:
    # two A and one B serve at most 2·8 + 16 = 32 < 35 req/s; the free optimum wants B×2
    scarce = PlanInputs((BUCKET,), (replace(A, available=2), replace(B, available=1)), max_load=0.8)
    assert diagnose(scarce, CAPS) == "available: the demand needs 2 accelerators of B (available 1)"
    with pytest.raises(InputError, match=r"^available: "):
        plan(scarce, CAPS)
    enough = plan(
        PlanInputs((BUCKET,), (replace(A, available=3), replace(B, available=1)), max_load=0.8),
        CAPS,
    )
    assert counts(enough) == {"A": 3, "B": 1}
    assert enough.binding == [
        "availability of A binds (uses 3 of 3)",
        "availability of B binds (uses 1 of 1)",
    ]


def test_a_bucket_no_kind_can_serve_names_the_slo_and_why() -> None:
    kind = Candidate("H100", H100, CAT.model("llama-3.3-70b"), "fp8", 2, 2.5, gpu_watts=700.0)
    tight = PlanInputs((Bucket(16_000, 100, 1.0),), (kind,), ttft_slo_s=0.05)
    with pytest.raises(
        InputError,
        match=r"^slo: no candidate can serve the 16,000→100-token "
        r"bucket; H100: TTFT .* ms .* over the SLO of 50 ms",
    ):
        plan(tight)


def test_power_and_footprint_follow_from_the_load() -> None:
    kind = Candidate(
        "H100", H100, MODEL, "fp8", 1, 2.5, gpu_watts=700.0, host_watts=575.0, idle_share=0.2
    )
    p = plan(
        PlanInputs(
            (Bucket(1000, 250, 50.0),),
            (kind,),
            Facility(pue=1.3, usd_per_mwh=60.0, wue_l_per_kwh=0.4, carbon_g_per_kwh=400.0),
        )
    )
    (k,) = p.kinds
    busy = k.utilisation * k.replicas
    it_w = k.replicas * (0.2 * 700 + 575) + busy * 0.8 * 700
    assert k.it_mw == pytest.approx(it_w / 1e6)
    assert k.facility_mw == pytest.approx(it_w * 1.3 / 1e6)
    assert k.usd_per_hour == pytest.approx(k.replicas * 2.5 + it_w * 1.3 * 60 / 1e6)
    assert p.water_m3_per_day == pytest.approx(it_w * 24 / 1000 * 0.4 / 1000)
    assert p.carbon_t_per_day == pytest.approx(it_w * 1.3 * 24 / 1000 * 400 / 1e6)
    assert k.tokens_per_day == pytest.approx(50.0 * 1250 * 86400)
