"""The efficiencies are fitted on published points, keyed by vendor, precision and stack,
and checked on points held out of the fit."""

import statistics

import pytest

from unitcost.catalog import load_catalog
from unitcost.economics import calibration
from unitcost.economics.calibration import (
    calibrate,
    efficiency,
    fit_points,
    load_points,
    previous_defaults_error,
    training_efficiency,
)
from unitcost.economics.roofline import (
    DEFAULT_BANDWIDTH_EFFICIENCY,
    DEFAULT_COLLECTIVE_LATENCY_S,
    DEFAULT_MFU,
)

REPORT = calibrate()
CAT = load_catalog()


def test_every_point_names_a_cited_document_and_gets_a_prediction() -> None:
    data = load_points()
    assert {p.source for p in data.points} <= set(data.sources)
    assert len(REPORT.residuals) == len(data.points)
    for r in REPORT.residuals:
        assert r.predicted > 0, r.point.name
    assert sum(p.held_out for p in data.points) >= 30


def test_held_out_points_never_move_the_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    data = load_points()
    tripled = [
        p.model_copy(update={"measured": p.measured * 3}) if p.held_out else p for p in data.points
    ]
    monkeypatch.setattr(
        calibration, "load_points", lambda: data.model_copy(update={"points": tripled})
    )
    again = calibration._calibrate.__wrapped__(CAT)
    assert again.fit == REPORT.fit
    assert again.held_out_error > REPORT.held_out_error
    assert fit_points(CAT, [p for p in data.points if not p.held_out]) == REPORT.fit


def test_the_recalibrated_model_beats_the_previous_defaults_on_held_out_points() -> None:
    assert 0.0 < REPORT.held_out_error < previous_defaults_error()
    assert REPORT.fit_error < REPORT.held_out_error


def test_global_defaults_are_the_medians_of_the_fitted_points() -> None:
    fit = REPORT.fit
    assert statistics.median(v for _, v in fit.mfu) == pytest.approx(DEFAULT_MFU, abs=0.01)
    assert statistics.median(v for _, v in fit.mbu) == pytest.approx(
        DEFAULT_BANDWIDTH_EFFICIENCY, abs=0.01
    )
    assert fit.collective_latency_s == pytest.approx(DEFAULT_COLLECTIVE_LATENCY_S, rel=0.05)


def test_prefill_mfu_is_keyed_by_precision_instead_of_one_median_of_two_clusters() -> None:
    sixteen = efficiency("NVIDIA", "bf16", "trtllm")
    fp8 = efficiency("NVIDIA", "fp8", "trtllm")
    assert sixteen.mfu > 0.6 and fp8.mfu < 0.45
    assert sixteen.mfu_from.startswith("NVIDIA 16-bit trtllm")


def test_a_non_nvidia_accelerator_gets_its_own_measured_efficiencies() -> None:
    amd = efficiency("AMD", "fp8", "vllm")
    assert amd.mbu_from.startswith("AMD fp8 vllm") and amd.serving_from.startswith("AMD")
    assert amd.serving < 0.7 * efficiency("NVIDIA", "fp8", "trtllm").serving


def test_lookups_fall_back_in_the_documented_order() -> None:
    assert efficiency("NVIDIA", "fp8", "sglang").mfu_from.startswith("NVIDIA fp8,")
    assert efficiency("Google", "bf16").mfu_from.startswith("16-bit,")
    assert efficiency("Google", "int4").mfu_from.startswith("all points")


def test_training_mfu_comes_from_published_runs_on_that_accelerator() -> None:
    a100, source = training_efficiency("A100-80GB", "NVIDIA")
    assert 0.38 < a100 < 0.48 and source.startswith("A100-80GB")
    assert training_efficiency("TPU-v5p", "Google")[1].startswith("all runs")


def test_chunked_prefill_overlap_is_fitted_and_fixes_long_context_serving() -> None:
    assert 0.2 < REPORT.fit.overlap < 1.0
    long = next(r for r in REPORT.residuals if r.point.name == "trt1.0 l3.1-8b h100 20000/2000")
    assert abs(long.error) < 0.2  # the serial model was 25% low on it
