"""LiteLLM-format price maps: the shipped excerpt is faithful, and each field lands right."""

from __future__ import annotations

import datetime as dt
import json
import os
from decimal import Decimal
from pathlib import Path

import pytest

from unitcost.catalog.prices import SHIPPED, load_price_map, per_m, shipped_price_map
from unitcost.errors import InputError

RAW = json.loads(SHIPPED.read_text())


def m(per_token: float) -> float:
    return float(Decimal(str(per_token)) * 10**6)


def test_per_token_prices_convert_to_per_million_without_drift() -> None:
    assert per_m(2.5e-08, "x") == 0.025  # 2.5e-08 * 1e6 is 0.024999999999999998 in floats
    assert per_m(1.875e-06, "x") == 1.875
    with pytest.raises(InputError, match=r"x: -1 is not a price"):
        per_m(-1, "x")
    with pytest.raises(InputError, match="is not a price"):
        per_m("3e-6", "x")


def test_anthropic_row_has_cache_write_and_read_at_their_own_rates() -> None:
    row = RAW["claude-sonnet-4-5"]
    listed = shipped_price_map().lookup("claude-sonnet-4-5")
    assert listed.input_usd_per_m == m(row["input_cost_per_token"])
    assert listed.output_usd_per_m == m(row["output_cost_per_token"])
    assert listed.cached_input_usd_per_m == m(row["cache_read_input_token_cost"])
    assert listed.cache_write_usd_per_m == m(row["cache_creation_input_token_cost"])
    assert listed.cache_write_usd_per_m != listed.input_usd_per_m  # 1.25x input
    assert listed.long_context_threshold is None
    assert listed.provider == "anthropic"
    assert listed.origin == (
        "price map: litellm 1.110.2 (as of 2026-12-01), claude-sonnet-4-5, standard tier"
    )


def test_batch_tier_reads_the_batches_fields() -> None:
    row = RAW["claude-haiku-4-5"]
    listed = shipped_price_map().lookup("claude-haiku-4-5", "batch")
    assert listed.input_usd_per_m == m(row["input_cost_per_token_batches"])
    assert listed.output_usd_per_m == m(row["output_cost_per_token_batches"])
    assert listed.cached_input_usd_per_m == m(row["cache_read_input_token_cost_batches"])
    assert listed.cache_write_usd_per_m == m(row["cache_creation_input_token_cost_batches"])
    assert "batch tier" in listed.origin


def test_a_tier_the_row_lacks_is_refused() -> None:
    with pytest.raises(InputError, match=r"dashscope/qwen-turbo: lists no batch prices"):
        shipped_price_map().lookup("dashscope/qwen-turbo", "batch")
    with pytest.raises(InputError, match=r"tier 'cheap' is unknown; accepted: standard, batch"):
        shipped_price_map().lookup("gpt-5-mini", "cheap")


def test_long_context_tier_from_above_200k_fields() -> None:
    row = RAW["gemini-3.1-pro-preview"]
    listed = shipped_price_map().lookup("gemini-3.1-pro-preview")
    assert listed.long_context_threshold == 200_000
    assert listed.long_input_usd_per_m == m(row["input_cost_per_token_above_200k_tokens"])
    assert listed.long_output_usd_per_m == m(row["output_cost_per_token_above_200k_tokens"])
    assert listed.long_cached_input_usd_per_m == m(
        row["cache_read_input_token_cost_above_200k_tokens"]
    )
    batch = shipped_price_map().lookup("gemini-3.1-pro-preview", "batch")
    assert batch.long_input_usd_per_m == m(row["input_cost_per_token_above_200k_tokens_batches"])


def test_long_context_tier_from_tiered_pricing() -> None:
    row = RAW["dashscope/qwen-flash"]["tiered_pricing"]
    listed = shipped_price_map().lookup("dashscope/qwen-flash")
    assert listed.long_context_threshold == int(row[1]["range"][0])
    assert listed.input_usd_per_m == m(row[0]["input_cost_per_token"])
    assert listed.long_input_usd_per_m == m(row[1]["input_cost_per_token"])
    assert listed.long_output_usd_per_m == m(row[1]["output_cost_per_token"])


def test_two_long_context_thresholds_are_refused_with_both_named() -> None:
    with pytest.raises(InputError, match=r"2 long-context thresholds \(32k, 256k\); accepted: one"):
        shipped_price_map().lookup("kyma/qwen3.7-flash")


def test_reasoning_and_deepseek_cache_hit_fields() -> None:
    qwen = shipped_price_map().lookup("dashscope/qwen-turbo")
    assert qwen.reasoning_usd_per_m == m(
        RAW["dashscope/qwen-turbo"]["output_cost_per_reasoning_token"]
    )
    assert qwen.reasoning_usd_per_m != qwen.output_usd_per_m
    ds = shipped_price_map().lookup("deepseek/deepseek-reasoner")
    assert ds.cached_input_usd_per_m == m(
        RAW["deepseek/deepseek-reasoner"]["cache_read_input_token_cost"]
    )


def test_unknown_model_names_close_ones(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no model 'sonnet-4-5' .*close: .*claude-sonnet-4-5"):
        shipped_price_map().lookup("sonnet-4-5")


def test_file_name_and_date_default_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "model_prices_and_context_window.json"
    path.write_text(json.dumps({"gpt-5-mini": RAW["gpt-5-mini"]}))
    stamp = dt.datetime(2025, 3, 4, 12, tzinfo=dt.UTC).timestamp()
    os.utime(path, (stamp, stamp))
    prices = load_price_map(path)
    assert (prices.name, prices.version, prices.as_of) == ("litellm", None, dt.date(2025, 3, 4))
    assert prices.lookup("gpt-5-mini").origin.startswith("price map: litellm (as of 2025-03-04)")
    other = tmp_path / "ours.json"
    other.write_text(json.dumps({"x": {"input_cost_per_token": 1e-6}}))
    with pytest.raises(InputError, match=r"ours.json.x: has no output_cost_per_token"):
        load_price_map(other).lookup("x")


def test_bad_files_get_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"price_map.path: '.*nope.json' does not exist"):
        load_price_map(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match=r"bad.json is not valid JSON"):
        load_price_map(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(InputError, match=r"must be an object of model → prices"):
        load_price_map(bad)


def test_the_excerpt_is_copied_unchanged_from_litellm_when_the_wheel_is_at_hand() -> None:
    """Faithfulness: each shipped row equals the row in LiteLLM's own file, if installed."""
    litellm = pytest.importorskip("litellm", reason="litellm is not installed")
    full = json.loads(
        (Path(litellm.__file__).parent / "model_prices_and_context_window_backup.json").read_text()
    )
    for model, row in RAW.items():
        assert full.get(model) == row, model
