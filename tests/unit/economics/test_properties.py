"""Invariants of the cost model, checked over generated inputs (Hypothesis)."""

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from unitcost.economics.scenario import evaluate, monte_carlo
from unitcost.economics.spec import parse_scenario

price = st.floats(0.0, 50.0)
positive = st.floats(0.05, 1e5)
share = st.floats(0.01, 1.0)
pue = st.floats(1.0, 3.0)


def self_hosted(**over: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "accelerator": "H100-SXM",
        "model": "llama-3.1-8b",
        "precision": "fp8",
        "lease_usd_per_hour": 2.5,
        "pue": 1.3,
        "electricity_usd_per_kwh": 0.1,
        "host_opex_usd_per_hour": 0.2,
        "networking_usd_per_hour": 0.1,
        "serving_overhead": 0.1,
        "batch_size": 16,
        "utilisation": 0.5,
    }
    spec.update(over)
    return spec


def outputs(workload: dict[str, float] | None = None, **over: Any) -> dict[str, float]:
    s = parse_scenario(
        {
            "name": "p",
            "workload": workload or {"input_tokens": 800, "output_tokens": 200},
            "deployments": {"d": {"self_hosted": self_hosted(**over)}},
        }
    )
    return {k: float(v) for k, v in evaluate(s).outputs().items()}


KEYS = ("d.usd_per_1k_input", "d.usd_per_1k_output", "d.usd_per_request")


@settings(max_examples=40, deadline=None)
@given(lease=price, opex=price, pue_=pue, kwh=st.floats(0, 1), util=share)
def test_costs_are_never_negative(
    lease: float, opex: float, pue_: float, kwh: float, util: float
) -> None:
    out = outputs(
        lease_usd_per_hour=lease,
        host_opex_usd_per_hour=opex,
        pue=pue_,
        electricity_usd_per_kwh=kwh,
        utilisation=util,
    )
    assert all(out[k] >= 0 for k in KEYS)


@settings(max_examples=30, deadline=None)
@given(a=price, b=price)
def test_non_decreasing_in_price(a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    assert all(outputs(lease_usd_per_hour=lo)[k] <= outputs(lease_usd_per_hour=hi)[k] for k in KEYS)


@settings(max_examples=30, deadline=None)
@given(a=pue, b=pue)
def test_non_decreasing_in_pue(a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    assert all(outputs(pue=lo)[k] <= outputs(pue=hi)[k] for k in KEYS)


@settings(max_examples=30, deadline=None)
@given(a=st.floats(1, 4000), b=st.floats(1, 4000))
def test_cost_per_request_non_decreasing_in_tokens(a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    small = outputs({"input_tokens": lo, "output_tokens": lo})["d.usd_per_request"]
    large = outputs({"input_tokens": hi, "output_tokens": hi})["d.usd_per_request"]
    assert small <= large * (1 + 1e-12)


@settings(max_examples=30, deadline=None)
@given(a=positive, b=positive)
def test_non_increasing_in_measured_throughput(a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    slow = outputs(throughput={"input_tokens_per_s": lo * 10, "output_tokens_per_s": lo})
    fast = outputs(throughput={"input_tokens_per_s": hi * 10, "output_tokens_per_s": hi})
    assert all(fast[k] <= slow[k] for k in KEYS)


@settings(max_examples=30, deadline=None)
@given(a=share, b=share)
def test_non_increasing_in_utilisation(a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    assert all(outputs(utilisation=hi)[k] <= outputs(utilisation=lo)[k] for k in KEYS)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_the_same_seed_gives_identical_monte_carlo_results(seed: int) -> None:
    s = parse_scenario(
        {
            "name": "mc",
            "deployments": {
                "d": {
                    "self_hosted": self_hosted(
                        lease_usd_per_hour={"dist": "lognormal", "low": 1.5, "high": 4.0},
                        utilisation={"low": 0.2, "high": 0.8},
                        pue={"low": 1.1, "mode": 1.3, "high": 1.8},
                    )
                }
            },
        }
    )
    first = monte_carlo(s, samples=2000, seed=seed)
    second = monte_carlo(s, samples=2000, seed=seed)
    for name, draws in first.outputs.items():
        assert np.array_equal(draws, second.outputs[name]), name
    other = monte_carlo(s, samples=2000, seed=seed + 1)
    assert not np.array_equal(
        first.outputs["d.usd_per_1k_output"], other.outputs["d.usd_per_1k_output"]
    )
