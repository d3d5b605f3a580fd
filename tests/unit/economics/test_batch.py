"""An unset batch is the one with the most throughput that fits memory and the TPOT SLO."""

from dataclasses import replace

import numpy as np
import pytest

from unitcost.catalog import load_catalog
from unitcost.economics.batch import NEAR_BEST, choose_batch
from unitcost.economics.roofline import RooflineInputs, roofline
from unitcost.errors import InputError

CAT = load_catalog()
BASE = RooflineInputs(
    CAT.accelerator("H100-SXM"),
    CAT.model("llama-3.1-8b"),
    "fp8",
    input_tokens=1000.0,
    output_tokens=250.0,
)


def rate(inp: RooflineInputs, batch: float) -> float:
    t = roofline(replace(inp, batch_size=batch))
    return 250.0 / (1000.0 / float(t.prefill_tokens_per_s) + 250.0 / float(t.decode_tokens_per_s))


def test_the_chosen_batch_is_near_the_best_that_fits_and_smaller_ones_are_not() -> None:
    pick = choose_batch(BASE)
    best = max(rate(BASE, b) for b in np.geomspace(1, pick.most_that_fit, 40).round())
    assert pick.batch <= pick.most_that_fit
    assert rate(BASE, pick.batch) >= NEAR_BEST * best
    assert rate(BASE, pick.batch / 2) < NEAR_BEST * best
    assert pick.reason.startswith(f"batch {pick.batch:,.0f}: ") and "memory" in pick.reason


def test_a_tpot_slo_caps_the_batch_and_says_so() -> None:
    free = choose_batch(BASE)
    slo = free.tpot_s / 2
    capped = choose_batch(BASE, tpot_slo_s=slo)
    assert capped.tpot_s <= slo < free.tpot_s
    assert capped.batch < free.batch
    assert f"the TPOT SLO of {slo * 1000:g} ms" in capped.reason


def test_an_slo_no_batch_can_meet_is_refused() -> None:
    with pytest.raises(InputError, match=r"^tpot_slo_ms: llama-3.1-8b on 1 × H100-SXM takes"):
        choose_batch(BASE, tpot_slo_s=1e-4)
