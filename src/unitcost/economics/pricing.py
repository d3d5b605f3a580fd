"""Price cards: what one token of each kind costs on a deployment, and where that came from.

    >>> card = PriceCard(input_usd_per_m=0.25, output_usd_per_m=2.0, cached_input_usd_per_m=0.025,
    ...                  origin="list price: OpenAI pricing page, 2026-02-28")
    >>> usage = TokenUsage(prompt_tokens=1000, completion_tokens=500, cached_tokens=400,
    ...                    reasoning_tokens=300)
    >>> card.cost(usage).total
    0.00116

Token kinds follow OpenAI's `usage`: `prompt_tokens` includes the cached ones (and the
ones written to a provider's prompt cache, `cache_write_tokens`, as Anthropic bills them)
and `completion_tokens` includes the reasoning ones, so each is priced once, at its own rate.
A card may carry a long-context tier: above `threshold_tokens` prompt tokens every token of
the call is priced at the tier's rates (how Anthropic and Google bill >200K-token prompts).
A self-hosted card is derived from the economics model (`PriceCard.from_unit_cost`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from unitcost.catalog.prices import ListedPrice, load_price_map
from unitcost.economics.breakdown import as_float
from unitcost.economics.distributions import Range, point_value
from unitcost.economics.spec import DeploymentSpec
from unitcost.economics.unit_cost import UnitCost

__all__ = [
    "Cost",
    "LongContextTier",
    "PriceCard",
    "TokenUsage",
    "card_from_listing",
    "listed_price_card",
    "usd_per_m_from_per_token",
]


@dataclass(frozen=True, slots=True)
class TokenUsage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cache_write_tokens: int = 0  # part of prompt_tokens: written to the provider's cache

    @classmethod
    def from_openai(cls, usage: dict[str, Any]) -> TokenUsage:
        """OpenAI's `usage`; `cache_creation_input_tokens` (LiteLLM's name, which the
        Anthropic backend emits too) is the count of prompt tokens written to a cache."""
        prompt_details = usage.get("prompt_tokens_details") or {}
        completion_details = usage.get("completion_tokens_details") or {}
        return cls(
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            cached_tokens=int(prompt_details.get("cached_tokens") or 0),
            reasoning_tokens=int(completion_details.get("reasoning_tokens") or 0),
            cache_write_tokens=int(usage.get("cache_creation_input_tokens") or 0),
        )

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class Cost:
    input: float
    cached_input: float
    output: float
    reasoning: float
    cache_write: float = 0.0

    @property
    def total(self) -> float:
        return round(
            self.input + self.cached_input + self.output + self.reasoning + self.cache_write, 12
        )


def usd_per_m_from_per_token(usd_per_token: float) -> float:
    """$/token (price maps) → $/1M tokens without float drift: 2.5e-08 → 0.025, not
    0.024999999999999998 (the decimal text of the float is what the price map meant)."""
    return float(Decimal(repr(usd_per_token)) * 1_000_000)


@dataclass(frozen=True, slots=True)
class LongContextTier:
    """Rates for a call whose prompt exceeds `threshold_tokens` (None: the base rate)."""

    threshold_tokens: int
    input_usd_per_m: float | None = None
    output_usd_per_m: float | None = None
    cached_input_usd_per_m: float | None = None
    cache_write_usd_per_m: float | None = None
    reasoning_usd_per_m: float | None = None


@dataclass(frozen=True, slots=True)
class PriceCard:
    input_usd_per_m: float
    output_usd_per_m: float
    cached_input_usd_per_m: float | None = None
    reasoning_usd_per_m: float | None = None
    origin: str = "input"
    cache_write_usd_per_m: float | None = None  # None: cache writes cost the input rate
    long_context: LongContextTier | None = None

    def for_usage(self, usage: TokenUsage) -> PriceCard:
        """The card whose rates apply to this call (the long-context tier, if it is over)."""
        tier = self.long_context
        if tier is None or usage.prompt_tokens <= tier.threshold_tokens:
            return self

        def pick(tiered: float | None, base: float | None) -> float | None:
            return base if tiered is None else tiered

        return PriceCard(
            input_usd_per_m=self.input_usd_per_m
            if tier.input_usd_per_m is None
            else tier.input_usd_per_m,
            output_usd_per_m=self.output_usd_per_m
            if tier.output_usd_per_m is None
            else tier.output_usd_per_m,
            cached_input_usd_per_m=pick(tier.cached_input_usd_per_m, self.cached_input_usd_per_m),
            reasoning_usd_per_m=pick(tier.reasoning_usd_per_m, self.reasoning_usd_per_m),
            origin=self.origin,
            cache_write_usd_per_m=pick(tier.cache_write_usd_per_m, self.cache_write_usd_per_m),
        )

    def cost(self, usage: TokenUsage) -> Cost:
        if self.long_context is not None:
            card = self.for_usage(usage)
            if card is not self:
                return card.cost(usage)  # the tier's card has no tier: this recurses once
        cached = min(usage.cached_tokens, usage.prompt_tokens)
        written = min(usage.cache_write_tokens, usage.prompt_tokens - cached)
        reasoning = min(usage.reasoning_tokens, usage.completion_tokens)
        cached_rate = (
            self.input_usd_per_m
            if self.cached_input_usd_per_m is None
            else (self.cached_input_usd_per_m)
        )
        reasoning_rate = (
            self.output_usd_per_m
            if self.reasoning_usd_per_m is None
            else (self.reasoning_usd_per_m)
        )
        write_rate = (
            self.input_usd_per_m
            if self.cache_write_usd_per_m is None
            else self.cache_write_usd_per_m
        )
        return Cost(
            input=(usage.prompt_tokens - cached - written) * self.input_usd_per_m / 1e6,
            cached_input=cached * cached_rate / 1e6,
            output=(usage.completion_tokens - reasoning) * self.output_usd_per_m / 1e6,
            reasoning=reasoning * reasoning_rate / 1e6,
            cache_write=written * write_rate / 1e6,
        )

    @classmethod
    def from_unit_cost(cls, uc: UnitCost, origin: str) -> PriceCard:
        return cls(
            input_usd_per_m=as_float(uc.usd_per_1k_input) * 1000.0,
            output_usd_per_m=as_float(uc.usd_per_1k_output) * 1000.0,
            origin=origin,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "input_usd_per_m": self.input_usd_per_m,
            "cached_input_usd_per_m": self.cached_input_usd_per_m,
            "output_usd_per_m": self.output_usd_per_m,
            "reasoning_usd_per_m": self.reasoning_usd_per_m,
            "cache_write_usd_per_m": self.cache_write_usd_per_m,
            "long_context": None
            if self.long_context is None
            else {k: getattr(self.long_context, k) for k in LongContextTier.__slots__},
            "origin": self.origin,
        }


def card_from_listing(listed: ListedPrice) -> PriceCard:
    """A price map's row (catalog.prices) as a card, its long-context tier included."""
    tier = None
    if listed.long_context_threshold is not None:
        tier = LongContextTier(
            threshold_tokens=listed.long_context_threshold,
            input_usd_per_m=listed.long_input_usd_per_m,
            output_usd_per_m=listed.long_output_usd_per_m,
            cached_input_usd_per_m=listed.long_cached_input_usd_per_m,
            cache_write_usd_per_m=listed.long_cache_write_usd_per_m,
        )
    return PriceCard(
        input_usd_per_m=listed.input_usd_per_m,
        output_usd_per_m=listed.output_usd_per_m,
        cached_input_usd_per_m=listed.cached_input_usd_per_m,
        reasoning_usd_per_m=listed.reasoning_usd_per_m,
        origin=listed.origin,
        cache_write_usd_per_m=listed.cache_write_usd_per_m,
        long_context=tier,
    )


def _optional(value: float | Range | None) -> float | None:
    return None if value is None else point_value(value)


def listed_price_card(spec: DeploymentSpec) -> PriceCard | None:
    """The card of a `list_price` or `price_map` deployment; None for derived prices
    (self_hosted, seed), which the scenario model computes."""
    if spec.price_map is not None:
        pm = spec.price_map
        prices = load_price_map(pm.path, name=pm.name, version=pm.version, as_of=pm.as_of)
        return card_from_listing(prices.lookup(pm.model, pm.tier))
    if spec.list_price is not None:
        lp = spec.list_price
        dated = f", as of {lp.as_of.isoformat()}" if lp.as_of else ""
        return PriceCard(
            input_usd_per_m=point_value(lp.input_usd_per_m),
            output_usd_per_m=point_value(lp.output_usd_per_m),
            cached_input_usd_per_m=_optional(lp.cached_input_usd_per_m),
            reasoning_usd_per_m=_optional(lp.reasoning_usd_per_m),
            origin=f"list price: {lp.source}{dated}",
            cache_write_usd_per_m=_optional(lp.cache_write_usd_per_m),
        )
    return None
