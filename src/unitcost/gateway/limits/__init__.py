"""Admission: budgets with holds, rate limits, and a per-call cost cap.

    limits = await open_limits(settings, store, flush_ledger)   # memory or redis backend
    hold = await limits.reserve(Ask(tenant, key_id, feature, hold_micros, tokens, first))
    await limits.settle(hold, actual_micros, actual_tokens)    # 0 refunds the hold

A call reserves the most it can cost before it is sent (`hold_micros`, worked out by the
admit stage from the prompt's exact token count and a clamped `max_tokens`), and settles
to what it really cost after. Every bucket that applies (tenant, key and feature budgets;
request and token rates) is debited together or not at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from unitcost.gateway.limits.buckets import (
    Ask,
    BucketPlan,
    Hold,
    micros_from_nanos,
    month_start,
    usd,
)
from unitcost.gateway.limits.memory import MemoryLimits
from unitcost.gateway.limits.rejections import cost_cap_exceeded
from unitcost.gateway.settings import GatewaySettings

__all__ = [
    "Ask",
    "BucketPlan",
    "Hold",
    "Limits",
    "MemoryLimits",
    "cost_cap_exceeded",
    "micros_from_nanos",
    "month_start",
    "open_limits",
    "usd",
]


class Limits(Protocol):
    kind: str
    plan: BucketPlan

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def reserve(self, ask: Ask) -> Hold: ...

    async def settle(self, hold: Hold, actual_micros: int, actual_tokens: int = 0) -> None:
        """Release the hold, charging `actual_micros`. Never suspends: the request path
        settles in a `finally` that a cancelled request also runs."""
        ...


def spent_this_month(store: Any, plan: BucketPlan, now: float | None = None) -> dict[str, int]:
    """Every budget bucket's spend this month, from the ledger (the memory backend's seed)."""
    if not any(plan.budgeted(t) for t in plan.tenants):
        return {}
    since = month_start(now)
    month = since[:7]
    out: dict[str, int] = {}
    for scope, prefix in (
        (["tenant"], "tenant"),
        (["tenant", "key_id"], "key"),
        (["tenant", "feature"], "feature"),
    ):
        for values, nanos in store.spent_nanos(scope, since).items():
            if all(v is not None for v in values):
                out[f"b:{prefix}:{':'.join(str(v) for v in values)}:{month}"] = micros_from_nanos(
                    nanos
                )
    return out


async def open_limits(
    settings: GatewaySettings, store: Any, flush_ledger: Callable[[], Awaitable[Any]]
) -> Limits:
    plan = BucketPlan(settings)
    limits: Limits
    if settings.limits.backend == "redis":
        from unitcost.gateway.limits.redis import RedisLimits, spend_from_store

        limits = RedisLimits(
            plan,
            settings.limits,
            spend_source=lambda budget, without: spend_from_store(store, budget, without),
            flush_ledger=flush_ledger,
        )
    else:
        limits = MemoryLimits(plan, spent_this_month(store, plan))
    await limits.start()
    return limits
