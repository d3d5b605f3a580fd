"""Price maps in LiteLLM's format (`model_prices_and_context_window.json`), read from a path.

    prices = load_price_map("model_prices_and_context_window.json", version="1.110.2")
    listed = prices.lookup("claude-sonnet-4-5", tier="batch")
    listed.input_usd_per_m, listed.cache_write_usd_per_m     # 1.5, 1.875
    listed.origin     # 'price map: litellm 1.110.2 (as of 2026-12-01), claude-sonnet-4-5, batch tier'

Many teams already keep this file; LiteLLM ships a copy in its wheel
(`litellm/model_prices_and_context_window_backup.json`). It is never fetched here: a
deployment names a path. Each model row gives $/token; this module turns the fields
unitcost prices into $/1M tokens, without float drift:

- `input_cost_per_token`, `output_cost_per_token`;
- `cache_read_input_token_cost` (or DeepSeek's `input_cost_per_token_cache_hit`) for cached
  prompt tokens, `cache_creation_input_token_cost` for tokens written to a prompt cache;
- `output_cost_per_reasoning_token` where reasoning is billed apart from output;
- `*_above_200k_tokens` (any `_above_Nk_tokens`) or a two-range `tiered_pricing`: one
  long-context tier, applied to every token of a call whose prompt exceeds N thousand;
- tiers: `batch` reads the `*_batches` fields, `flex` and `priority` theirs. A field the tier
  lacks falls back to the standard figure of the same kind (said in `origin`).

A shipped, faithful excerpt of LiteLLM's file (MIT) serves the tests: `shipped_price_map()`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import orjson

from unitcost.errors import InputError

__all__ = [
    "TIERS",
    "ListedPrice",
    "PriceMap",
    "Tier",
    "load_price_map",
    "per_m",
    "shipped_price_map",
]

Tier = Literal["standard", "batch", "flex", "priority"]
TIERS: dict[str, str] = {
    "standard": "",
    "batch": "_batches",
    "flex": "_flex",
    "priority": "_priority",
}
_DATA = Path(__file__).resolve().parent.parent / "data"
SHIPPED = _DATA / "litellm_model_prices_excerpt.json"
#: the excerpt's provenance: LiteLLM's wheel of this version, read on this date
SHIPPED_VERSION, SHIPPED_AS_OF = "1.110.2", dt.date(2026, 12, 1)
_ABOVE = re.compile(r"^input_cost_per_token_above_(\d+)k_tokens$")

#: our field → LiteLLM's names for it, first found wins
_FIELDS = {
    "input": ("input_cost_per_token",),
    "output": ("output_cost_per_token",),
    "cached_input": ("cache_read_input_token_cost", "input_cost_per_token_cache_hit"),
    "cache_write": ("cache_creation_input_token_cost",),
    "reasoning": ("output_cost_per_reasoning_token",),
}


def per_m(value: Any, where: str) -> float:
    """A price map's $/token as $/1M tokens, exactly as written (2.5e-08 → 0.025)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise InputError(f"{where}: {value!r} is not a price; accepted: a number ≥ 0 ($/token)")
    return float(Decimal(repr(value)) * 1_000_000)


@dataclass(frozen=True, slots=True)
class ListedPrice:
    """One model's rates in $/1M tokens, as a price map lists them for one tier."""

    model: str
    provider: str | None
    tier: str
    input_usd_per_m: float
    output_usd_per_m: float
    cached_input_usd_per_m: float | None
    cache_write_usd_per_m: float | None
    reasoning_usd_per_m: float | None
    long_context_threshold: int | None  # prompt tokens above which `long_*` rates apply
    long_input_usd_per_m: float | None
    long_output_usd_per_m: float | None
    long_cached_input_usd_per_m: float | None
    long_cache_write_usd_per_m: float | None
    max_input_tokens: int | None
    origin: str


@dataclass(frozen=True)
class PriceMap:
    name: str
    version: str | None
    as_of: dt.date | None
    path: Path
    rows: dict[str, dict[str, Any]]

    @property
    def label(self) -> str:
        version = f" {self.version}" if self.version else ""
        dated = f"as of {self.as_of.isoformat()}" if self.as_of else "undated"
        return f"{self.name}{version} ({dated})"

    def models(self) -> list[str]:
        return sorted(k for k in self.rows if k != "sample_spec")

    def lookup(self, model: str, tier: str = "standard") -> ListedPrice:
        where = f"price map {self.path.name}"
        if tier not in TIERS:
            raise InputError(f"{where}: tier {tier!r} is unknown; accepted: {', '.join(TIERS)}")
        row = self.rows.get(model)
        if row is None or model == "sample_spec":
            near = [m for m in self.models() if model.split("/")[-1] in m][:5]
            hint = f"; close: {', '.join(near)}" if near else ""
            raise InputError(f"{where}: no model {model!r} ({len(self.rows)} rows){hint}")
        if not isinstance(row, dict):
            raise InputError(f"{where}.{model}: expected an object of prices")
        suffix, fell_back = TIERS[tier], []

        def rate(kind: str, above: str = "") -> float | None:
            for base in _FIELDS[kind]:
                field = base + above
                if suffix and field + suffix in row:
                    return per_m(row[field + suffix], f"{where}.{model}.{field + suffix}")
                if field in row:
                    if suffix and kind in ("input", "output"):
                        fell_back.append(kind)
                    return per_m(row[field], f"{where}.{model}.{field}")
            return None

        inp, out = rate("input"), rate("output")
        tiers = row.get("tiered_pricing")
        if (inp is None or out is None) and isinstance(tiers, list) and tiers:
            first, p = tiers[0], f"{where}.{model}.tiered_pricing[0]"
            if isinstance(first, dict) and {"input_cost_per_token", "output_cost_per_token"} <= set(
                first
            ):
                inp = per_m(first["input_cost_per_token"], p)
                out = per_m(first["output_cost_per_token"], p)
        if inp is None or out is None:
            missing = "input_cost_per_token" if inp is None else "output_cost_per_token"
            raise InputError(f"{where}.{model}: has no {missing}; it cannot price a chat call")
        if suffix and fell_back == ["input", "output"]:
            raise InputError(
                f"{where}.{model}: lists no {tier} prices (no input_cost_per_token{suffix}); "
                "accepted: standard"
            )
        threshold, long = self._long_context(model, row, where)
        if threshold is not None and long is None:
            above = f"_above_{threshold // 1000}k_tokens"
            long = {k: rate(k, above) for k in ("input", "output", "cached_input", "cache_write")}
        fallback = "" if not fell_back else f" ({', '.join(fell_back)} at the standard rate)"
        max_input = row.get("max_input_tokens")
        return ListedPrice(
            model=model,
            provider=row.get("litellm_provider")
            if isinstance(row.get("litellm_provider"), str)
            else None,
            tier=tier,
            input_usd_per_m=inp,
            output_usd_per_m=out,
            cached_input_usd_per_m=rate("cached_input"),
            cache_write_usd_per_m=rate("cache_write"),
            reasoning_usd_per_m=rate("reasoning"),
            long_context_threshold=threshold,
            long_input_usd_per_m=(long or {}).get("input"),
            long_output_usd_per_m=(long or {}).get("output"),
            long_cached_input_usd_per_m=(long or {}).get("cached_input"),
            long_cache_write_usd_per_m=(long or {}).get("cache_write"),
            max_input_tokens=max_input if isinstance(max_input, int) else None,
            origin=f"price map: {self.label}, {model}, {tier} tier{fallback}",
        )

    @staticmethod
    def _long_context(
        model: str, row: dict[str, Any], where: str
    ) -> tuple[int | None, dict[str, float | None] | None]:
        """(threshold, rates if `tiered_pricing` gives them) of the row's long-context tier."""
        tiers = row.get("tiered_pricing")
        if isinstance(tiers, list) and tiers:
            if len(tiers) != 2 or not all(isinstance(t, dict) for t in tiers):
                raise InputError(
                    f"{where}.{model}.tiered_pricing: {len(tiers)} ranges; accepted: two "
                    "(standard and one long-context tier)"
                )
            try:
                threshold = int(tiers[1]["range"][0])
            except (KeyError, IndexError, TypeError, ValueError):
                raise InputError(
                    f"{where}.{model}.tiered_pricing[1].range: expected [low, high]"
                ) from None
            t = tiers[1]
            p = f"{where}.{model}.tiered_pricing[1]"
            return threshold, {
                "input": per_m(t["input_cost_per_token"], p)
                if "input_cost_per_token" in t
                else None,
                "output": per_m(t["output_cost_per_token"], p)
                if "output_cost_per_token" in t
                else None,
                "cached_input": per_m(t["cache_read_input_token_cost"], p)
                if "cache_read_input_token_cost" in t
                else None,
                "cache_write": None,
            }
        found = sorted({int(m.group(1)) for k in row for m in [_ABOVE.match(k)] if m})
        if len(found) > 1:
            raise InputError(
                f"{where}.{model}: {len(found)} long-context thresholds "
                f"({', '.join(f'{n}k' for n in found)}); accepted: one"
            )
        return (found[0] * 1000, None) if found else (None, None)


def load_price_map(
    path: str | Path,
    *,
    name: str | None = None,
    version: str | None = None,
    as_of: dt.date | None = None,
) -> PriceMap:
    """Read a LiteLLM-format price map. `name` defaults to "litellm" for LiteLLM's file
    names, else the file's stem; `as_of` defaults to the file's modification date."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"price_map.path: {str(p)!r} does not exist; accepted: a JSON file path")
    try:
        rows = orjson.loads(p.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise InputError(f"price_map.path: {p.name} is not valid JSON ({exc})") from None
    if not isinstance(rows, dict):
        raise InputError(f"price_map.path: {p.name} must be an object of model → prices")
    if name is None:
        name = "litellm" if p.name.startswith("model_prices_and_context_window") else p.stem
    if as_of is None:
        as_of = dt.datetime.fromtimestamp(p.stat().st_mtime, tz=dt.UTC).date()
    return PriceMap(name, version, as_of, p, rows)


def shipped_price_map() -> PriceMap:
    """The faithful excerpt of LiteLLM 1.110.2's price map shipped in the package (MIT)."""
    return load_price_map(SHIPPED, name="litellm", version=SHIPPED_VERSION, as_of=SHIPPED_AS_OF)
