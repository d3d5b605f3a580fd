"""The 429s admission answers with: what was over, by how much, and when to retry."""

from __future__ import annotations

import math

from unitcost.errors import BudgetExceeded, LimitExceeded
from unitcost.gateway.limits.buckets import Budget, Rate, seconds_to_month_end, usd

__all__ = ["budget_exceeded", "cost_cap_exceeded", "rate_exceeded"]


def budget_exceeded(
    budget: Budget, spent: int, held: int, asked: int, now: float | None = None
) -> BudgetExceeded:
    # Held money may come back when calls in flight settle for less; otherwise only the
    # month's end frees budget.
    wait = 1 if held else seconds_to_month_end(now)
    return BudgetExceeded(
        f"{budget.label} budget for {budget.month}: {usd(budget.limit_micros)}; spent "
        f"{usd(spent)}, held for calls in flight {usd(held)}, this call may cost up to "
        f"{usd(asked)}",
        headers={"retry-after": str(wait)},
    )


def cost_cap_exceeded(
    tenant: str, cap: int, asked: int, prompt: int, max_tokens: int
) -> BudgetExceeded:
    return BudgetExceeded(
        f"tenant {tenant!r} allows at most {usd(cap)} per call; this one may cost up to "
        f"{usd(asked)} ({prompt} prompt tokens, max_tokens {max_tokens}); lower max_tokens",
        param="max_tokens",
    )


def rate_exceeded(rate: Rate, available: float) -> LimitExceeded:
    if rate.cost > rate.burst:
        return LimitExceeded(
            f"{rate.label}: this call asks for {rate.cost:g}, more than a minute's worth; "
            "lower max_tokens or the prompt",
            param="max_tokens",
        )
    wait = max(1, math.ceil((rate.cost - available) / rate.per_ms / 1000))
    return LimitExceeded(
        f"{rate.label}: over the limit; retry in {wait} s", headers={"retry-after": str(wait)}
    )
