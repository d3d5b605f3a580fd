"""Cache writes, long-context tiers, batch and reasoning rates on a price card."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from unitcost.catalog.prices import SHIPPED, shipped_price_map
from unitcost.economics.pricing import (
    LongContextTier,
    PriceCard,
    TokenUsage,
    card_from_listing,
    listed_price_card,
)
from unitcost.economics.spec import DeploymentSpec

SONNET = PriceCard(  # Anthropic's card for Claude Sonnet 4.5, $/1M
    input_usd_per_m=3.0,
    output_usd_per_m=15.0,
    cached_input_usd_per_m=0.3,
    cache_write_usd_per_m=3.75,
    origin="test",
)


def test_cache_writes_and_reads_are_priced_apart_from_input() -> None:
    # Anthropic usage: input 100, cache_creation 2000, cache_read 10000 → prompt 12100
    usage = TokenUsage(
        prompt_tokens=12_100, completion_tokens=50, cached_tokens=10_000, cache_write_tokens=2_000
    )
    cost = SONNET.cost(usage)
    assert cost.input == pytest.approx(100 * 3.0 / 1e6)
    assert cost.cache_write == pytest.approx(2_000 * 3.75 / 1e6)
    assert cost.cached_input == pytest.approx(10_000 * 0.3 / 1e6)
    assert cost.total == pytest.approx((300 + 7_500 + 3_000 + 50 * 15) / 1e6)
    billed_as_input = PriceCard(3.0, 15.0).cost(usage).total  # the bug the issue names
    assert billed_as_input > cost.total * 2


def test_without_a_cache_write_rate_writes_cost_the_input_rate() -> None:
    usage = TokenUsage(prompt_tokens=1_000, completion_tokens=0, cache_write_tokens=400)
    assert PriceCard(2.0, 8.0).cost(usage).total == pytest.approx(1_000 * 2.0 / 1e6)


def test_long_context_tier_prices_every_token_once_over_the_threshold() -> None:
    card = PriceCard(
        2.0,
        12.0,
        cached_input_usd_per_m=0.2,
        long_context=LongContextTier(200_000, 4.0, 18.0, cached_input_usd_per_m=0.4),
    )
    at = TokenUsage(prompt_tokens=200_000, completion_tokens=1_000, cached_tokens=100_000)
    over = TokenUsage(prompt_tokens=200_001, completion_tokens=1_000, cached_tokens=100_000)
    assert card.cost(at).total == pytest.approx((100_000 * 2 + 100_000 * 0.2 + 1_000 * 12) / 1e6)
    assert card.cost(over).total == pytest.approx((100_001 * 4 + 100_000 * 0.4 + 1_000 * 18) / 1e6)


def test_a_tier_without_a_rate_keeps_the_base_rate() -> None:
    card = PriceCard(1.0, 2.0, reasoning_usd_per_m=5.0, long_context=LongContextTier(10, 3.0))
    usage = TokenUsage(prompt_tokens=11, completion_tokens=4, reasoning_tokens=3)
    assert card.cost(usage).total == pytest.approx((11 * 3.0 + 1 * 2.0 + 3 * 5.0) / 1e6)


def test_reasoning_tokens_from_a_price_map_are_priced_at_their_rate() -> None:
    card = card_from_listing(shipped_price_map().lookup("dashscope/qwen-turbo"))
    usage = TokenUsage(prompt_tokens=1_000, completion_tokens=900, reasoning_tokens=800)
    assert card.cost(usage).reasoning == pytest.approx(800 * card.reasoning_usd_per_m / 1e6)  # type: ignore[operator]
    assert card.cost(usage).output == pytest.approx(100 * card.output_usd_per_m / 1e6)


def test_batch_tier_card_costs_half_of_standard_for_claude() -> None:
    std = card_from_listing(shipped_price_map().lookup("claude-haiku-4-5"))
    batch = card_from_listing(shipped_price_map().lookup("claude-haiku-4-5", "batch"))
    usage = TokenUsage(
        prompt_tokens=5_000, completion_tokens=700, cached_tokens=3_000, cache_write_tokens=1_000
    )
    assert batch.cost(usage).total == pytest.approx(std.cost(usage).total / 2)


def test_deployment_spec_takes_a_price_map_and_a_dated_list_price() -> None:
    spec = DeploymentSpec.model_validate(
        {"price_map": {"path": str(SHIPPED), "model": "gemini-2.5-pro", "version": "1.110.2"}}
    )
    card = listed_price_card(spec)
    assert card is not None and card.long_context is not None
    assert card.long_context.threshold_tokens == 200_000
    assert card.origin.startswith("price map: litellm_model_prices_excerpt 1.110.2 (as of ")
    dated = DeploymentSpec.model_validate(
        {
            "list_price": {
                "input_usd_per_m": 1,
                "output_usd_per_m": 2,
                "cache_write_usd_per_m": 1.25,
                "source": "vendor page",
                "as_of": "2026-11-30",
            }
        }
    )
    card = listed_price_card(dated)
    assert card is not None and card.cache_write_usd_per_m == 1.25
    assert card.origin == "list price: vendor page, as of 2026-11-30"
    assert dated.list_price is not None and dated.list_price.as_of == dt.date(2026, 11, 30)
    with pytest.raises(ValueError, match="exactly one of list_price, self_hosted, seed, price_map"):
        DeploymentSpec.model_validate(
            {
                "price_map": {"path": "x", "model": "y"},
                "list_price": {"input_usd_per_m": 1, "output_usd_per_m": 2},
            }
        )


counts = st.integers(min_value=0, max_value=2_000_000)


@given(counts, counts, counts, counts, counts)
def test_cost_is_never_negative_and_grows_with_tokens(
    p: int, c: int, r: int, w: int, extra: int
) -> None:
    card = card_from_listing(shipped_price_map().lookup("vertex_ai/claude-sonnet-4-5"))
    usage = TokenUsage(prompt_tokens=p, completion_tokens=c, cached_tokens=r, cache_write_tokens=w)
    more = TokenUsage(
        prompt_tokens=p, completion_tokens=c + extra, cached_tokens=r, cache_write_tokens=w
    )
    assert card.cost(usage).total >= 0
    assert card.cost(more).total >= card.cost(usage).total


def test_a_scenario_deployment_can_be_priced_from_a_price_map() -> None:
    from unitcost.economics.scenario import evaluate
    from unitcost.economics.spec import parse_scenario

    scenario = parse_scenario(
        {
            "name": "pm",
            "deployments": {
                "claude": {"price_map": {"path": str(SHIPPED), "model": "claude-haiku-4-5"}}
            },
        }
    )
    result = evaluate(scenario).deployments["claude"]
    assert result.kind == "price_map" and "claude-haiku-4-5" in result.origin
    assert result.unit_cost.usd_per_1k_input == pytest.approx(1.0 / 1000)
    assert result.unit_cost.usd_per_1k_output == pytest.approx(5.0 / 1000)
