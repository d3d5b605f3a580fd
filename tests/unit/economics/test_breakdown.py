"""Figures written into source strings, which people read beside every cost line."""

import pytest

from unitcost.economics.breakdown import fmt


@pytest.mark.parametrize(
    ("value", "text"),
    [(27_000.0, "27,000"), (0.08, "0.08"), (0.0000123, "0.0000123"), (123.456, "123.5"), (4, "4")],
)
def test_a_figure_in_a_source_is_positional(value: float, text: str) -> None:
    assert fmt(value) == text
