"""Price cards: what one token of each kind costs on a deployment, and where that came from.

    >>> card = PriceCard(input_usd_per_m=0.25, output_usd_per_m=2.0, cached_input_usd_per_m=0.025,
    ...                  origin="list price: OpenAI pricing page, 2026-02-28")
    >>> usage = TokenUsage(prompt_tokens=1000, completion_tokens=500, cached_tokens=400,
    ...                    reasoning_tokens=300)
    >>> card.cost(usage).total
    0.00116

Token kinds follow OpenAI's `usage`: `prompt_tokens` includes the cached ones and
`completion_tokens` includes the reasoning ones, so each is priced once, at its own rate.
A self-hosted card is derived from the economics model (`PriceCard.from_unit_cost`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from unitcost.economics.breakdown import as_float
from unitcost.economics.unit_cost import UnitCost

__all__ = ["Cost", "PriceCard", "TokenUsage"]


@dataclass(frozen=True, slots=True)
class TokenUsage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0

    @classmethod
    def from_openai(cls, usage: dict[str, Any]) -> TokenUsage:
        prompt_details = usage.get("prompt_tokens_details") or {}
        completion_details = usage.get("completion_tokens_details") or {}
        return cls(
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            cached_tokens=int(prompt_details.get("cached_tokens") or 0),
            reasoning_tokens=int(completion_details.get("reasoning_tokens") or 0),
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

    @property
    def total(self) -> float:
        return round(self.input + self.cached_input + self.output + self.reasoning, 12)


@dataclass(frozen=True, slots=True)
class PriceCard:
    input_usd_per_m: float
    output_usd_per_m: float
    cached_input_usd_per_m: float | None = None
    reasoning_usd_per_m: float | None = None
    origin: str = "input"

    def cost(self, usage: TokenUsage) -> Cost:
        cached = min(usage.cached_tokens, usage.prompt_tokens)
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
        return Cost(
            input=(usage.prompt_tokens - cached) * self.input_usd_per_m / 1e6,
            cached_input=cached * cached_rate / 1e6,
            output=(usage.completion_tokens - reasoning) * self.output_usd_per_m / 1e6,
            reasoning=reasoning * reasoning_rate / 1e6,
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
            "origin": self.origin,
        }
