"""DeepSeek's published production day (open-infra-index, Day 6, Feb 2025), reproduced.

Source: github.com/deepseek-ai/open-infra-index, 202502OpenSourceWeek/
day_6_one_more_thing_deepseekV3R1_inference_system_overview.md: an average of 226.75 nodes
× 8 H800 at $2/GPU-hour cost $87,072/day; 608B input tokens (342B cache hits), 168B output
tokens at R1 list prices ($0.14/M hit, $0.55/M miss, $2.19/M output) would earn $562,027;
cost-profit margin 545%.
"""

import pytest

from unitcost.catalog import load_catalog
from unitcost.economics.pricing import PriceCard, TokenUsage
from unitcost.economics.tco import TCOInputs, accelerator_hour

R1 = PriceCard(
    input_usd_per_m=0.55,
    cached_input_usd_per_m=0.14,
    output_usd_per_m=2.19,
    origin="DeepSeek R1 list price, Feb 2025",
)
DAY = TokenUsage(
    prompt_tokens=608 * 10**9, cached_tokens=342 * 10**9, completion_tokens=168 * 10**9
)


def fleet_cost_per_day() -> float:
    h800 = load_catalog().accelerator("H800")
    hour = accelerator_hour(TCOInputs(h800, lease_usd_per_hour=2.0, average_load=0.0))
    return float(hour.cost.total) * 226.75 * 8 * 24


def test_fleet_cost_is_87072_per_day() -> None:
    assert fleet_cost_per_day() == pytest.approx(87_072.0, rel=1e-12)


def test_revenue_at_r1_prices_matches_the_published_562027() -> None:
    # The published token counts are rounded to 1B, so the revenue agrees to 0.02%.
    revenue = R1.cost(DAY).total
    assert revenue == pytest.approx(562_027.0, rel=2e-4)


def test_cost_profit_margin_is_545_percent() -> None:
    margin = 562_027.0 / fleet_cost_per_day() - 1.0
    assert round(margin * 100) == 545
    assert round((R1.cost(DAY).total / fleet_cost_per_day() - 1.0) * 100) in (545, 546)
