"""A deployment priced from a LiteLLM price map, end to end; the README's backend YAML loads."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from unitcost.catalog.prices import SHIPPED
from unitcost.gateway.settings import load_settings
from unitcost.gateway.upstreams.registry import create_upstream
from unitcost.testing import AnthropicProtocolServer, in_thread

ROOT = Path(__file__).resolve().parents[3]


def nanos_per_token(per_token: float) -> Decimal:
    return Decimal(repr(per_token)) * 10**9


def test_anthropic_deployment_priced_from_the_shipped_litellm_excerpt(run_gateway: Any) -> None:
    row = json.loads(SHIPPED.read_text())["claude-sonnet-4-5"]
    with in_thread(AnthropicProtocolServer()) as server:
        server.script.cache_read_tokens, server.script.cache_write_tokens = 3_000, 500
        gateway = run_gateway(
            [
                {
                    "name": "sonnet",
                    "backend": "anthropic",
                    "options": {"url": server.url, "model": "claude-sonnet-4-5", "api_key": "k"},
                    "price": {
                        "price_map": {
                            "path": str(SHIPPED),
                            "model": "claude-sonnet-4-5",
                            "version": "1.110.2",
                            "as_of": "2026-12-01",
                        }
                    },
                }
            ],
            port=0,
        )
        gateway.client().chat.completions.create(
            model="sonnet", messages=[{"role": "user", "content": "hi"}]
        )
        (r,) = [r for r in gateway.records() if r.deployment == "sonnet"]
    s = server.script
    expected = (
        s.input_tokens * nanos_per_token(row["input_cost_per_token"])
        + s.cache_read_tokens * nanos_per_token(row["cache_read_input_token_cost"])
        + s.cache_write_tokens * nanos_per_token(row["cache_creation_input_token_cost"])
        + s.output_tokens * nanos_per_token(row["output_cost_per_token"])
    )
    assert r.cost_nanos == int(expected)
    assert r.price_origin == (
        "price map: litellm_model_prices_excerpt 1.110.2 (as of 2026-12-01), claude-sonnet-4-5, "
        "standard tier"
    )
    models = gateway.client().models.list()
    assert any("price map" in str(m.model_dump()) for m in models.data)


def test_the_readme_backend_examples_are_valid_settings(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Backends", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None
    raw = yaml.safe_load(block.group(1).replace("${ANTHROPIC_API_KEY}", "sk-x"))
    for d in raw["deployments"]:
        d.setdefault("price", {"list_price": {"input_usd_per_m": 1, "output_usd_per_m": 2}})
        if "price_map" in d["price"]:
            d["price"]["price_map"]["path"] = str(SHIPPED)
    settings = load_settings(None, deployments=raw["deployments"])
    kinds = {d.backend for d in settings.deployments}
    assert kinds == {"openai", "anthropic", "ollama", "triton"}
    for i, d in enumerate(settings.deployments):
        create_upstream(d.name, d.backend, d.options, f"deployments[{i}]")  # options validate
