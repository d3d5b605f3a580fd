"""The roofline's default efficiencies are what published measurements imply."""

import pytest

from unitcost.economics.calibration import calibrate
from unitcost.economics.roofline import DEFAULT_BANDWIDTH_EFFICIENCY, DEFAULT_MFU

REPORT = calibrate()


def test_every_point_implies_a_physical_efficiency_and_names_its_source() -> None:
    for point in [*REPORT.prefill_mfu, *REPORT.decode_mbu]:
        assert 0.2 < point.value <= 1.0, point
        assert point.source


def test_defaults_are_the_medians_of_the_published_points() -> None:
    assert pytest.approx(REPORT.median_mfu, abs=0.03) == DEFAULT_MFU
    assert pytest.approx(REPORT.median_mbu, abs=0.03) == DEFAULT_BANDWIDTH_EFFICIENCY


def test_calibrated_roofline_predicts_published_serving_throughput_within_25_percent() -> None:
    assert REPORT.throughput_ratio
    for point in REPORT.throughput_ratio:
        assert 0.8 <= point.value <= 1.25, point.detail
