"""Reserve what a call can cost before it is sent, and settle to what it cost after.

    call = prepare_call(x, dep, limits.plan, settings.limits)   # the body, clamped
    hold = await reserve(limits, x, call)                       # BudgetExceeded (429)
    await settle(limits, hold, row)                             # the row's real cost

The hold is the prompt's exact token count at the highest prompt-side rate plus
`max(n, best_of) × max_tokens` at the highest output rate, in integer micro-dollars
rounded up. For a tenant with a budget or cost cap, `max_tokens` is clamped to the
deployment's limit (or sent when the client gave none), so the upstream cannot bill more
than was held.
Tenants without budgets, caps or token rates skip the token count entirely.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from unitcost.economics.pricing import TokenUsage
from unitcost.gateway.exchange import Exchange
from unitcost.gateway.limits import (
    Ask,
    BucketPlan,
    Hold,
    Limits,
    cost_cap_exceeded,
    micros_from_nanos,
)
from unitcost.gateway.portfolio import Deployment
from unitcost.gateway.settings import LimitsConfig
from unitcost.gateway.stages.guard import with_canary
from unitcost.gateway.stages.meter import output_allowance
from unitcost.ledger.record import UsageRecord

__all__ = ["PreparedCall", "prepare_call", "reserve", "settle"]

_MAX_FIELDS = ("max_tokens", "max_completion_tokens")


@dataclass(slots=True)
class PreparedCall:
    body: dict[str, Any]  # what goes upstream (a copy: each deployment gets its own)
    hold_micros: int
    tokens: int  # prompt + n × max_tokens, for tokens-per-minute limits
    prompt_tokens: int
    max_tokens: int | None


def _clamp(body: dict[str, Any], limit: int | None, inject: int | None) -> int | None:
    """Clamp the client's max_tokens (either spelling) to `limit`; send `inject` if absent."""
    given = [f for f in _MAX_FIELDS if body.get(f) is not None]
    if not given:
        if inject is None:
            return None
        body["max_tokens"] = inject
        return inject
    value = 0
    for f in given:
        if limit is not None and body[f] > limit:
            body[f] = limit
        value = max(value, body[f])
    return value


def prepare_call(
    x: Exchange, dep: Deployment, plan: BucketPlan, config: LimitsConfig
) -> PreparedCall:
    body = with_canary(x, dict(x.body))
    limit = dep.max_output_tokens
    tenant = x.tenant
    budgeted = plan.budgeted(tenant)
    counts_tokens = budgeted or bool(
        plan.tenants.get(tenant) and plan.tenants[tenant].tokens_per_minute
    )
    inject = (
        (limit or config.default_max_tokens) if budgeted and x.endpoint != "embeddings" else None
    )
    max_tokens = _clamp(body, limit, inject) if x.endpoint != "embeddings" else None
    if not counts_tokens:
        return PreparedCall(body, 0, 0, 0, max_tokens)
    prompt = dep.count_prompt(body)
    # n × max_tokens, or best_of × (completions generate, and bill, best_of candidates)
    out = (output_allowance(body) or 0) if max_tokens is not None else 0
    card = dep.card.for_usage(TokenUsage(prompt_tokens=prompt, completion_tokens=out))
    prompt_rate = max(
        card.input_usd_per_m, card.cached_input_usd_per_m or 0.0, card.cache_write_usd_per_m or 0.0
    )
    output_rate = max(card.output_usd_per_m, card.reasoning_usd_per_m or 0.0)
    nanos = math.ceil(prompt * prompt_rate * 1000 + out * output_rate * 1000)
    return PreparedCall(body, micros_from_nanos(nanos), prompt + out, prompt, max_tokens)


async def reserve(limits: Limits, x: Exchange, call: PreparedCall) -> Hold:
    cap = limits.plan.max_request_micros(x.tenant)
    if cap is not None and call.hold_micros > cap:
        raise cost_cap_exceeded(
            x.tenant, cap, call.hold_micros, call.prompt_tokens, call.max_tokens or 0
        )
    principal = x.principal
    ask = Ask(
        x.tenant,
        principal.key_id if principal is not None else None,
        x.feature,
        call.hold_micros,
        call.tokens,
        first=x.calls == 0,
    )
    hold = await limits.reserve(ask)
    x.calls += 1
    return hold


async def settle(limits: Limits, hold: Hold, row: UsageRecord) -> None:
    """Settle the hold to the row's cost; a call that cost nothing refunds it whole."""
    used = row.prompt_tokens + row.completion_tokens
    await limits.settle(hold, micros_from_nanos(row.cost_nanos), used)
