"""Count what a call used (usage, else the tokenizer) and price it in integer nano-dollars.

    meter(row, dep, request_body, usage, generated_text, rejected=None)

Usage the upstream sent and `wire.usage` accepted is billed as is. With none, or with usage
that was refused (a negative or non-integer count), the deployment's tokenizer counts the
prompt and the generated text, and the row is marked estimated. A call that used more
output than the max_tokens it was sent allows is billed as reported, and logged.
"""

from __future__ import annotations

import logging
from typing import Any

from unitcost.economics.pricing import TokenUsage
from unitcost.gateway.portfolio import Deployment
from unitcost.ledger.record import UsageRecord, usd_to_nanos
from unitcost.wire.usage import estimate_usage

__all__ = ["meter", "output_allowance"]

log = logging.getLogger("unitcost.gateway")


def meter(
    row: UsageRecord,
    dep: Deployment,
    request: dict[str, Any],
    usage: TokenUsage | None,
    generated: str,
    rejected: str | None = None,
) -> None:
    if rejected is not None:
        log.warning(
            "deployment %s sent usage that cannot be billed (%s); counting tokens with "
            "its tokenizer instead",
            dep.name,
            rejected,
        )
    if usage is None:
        usage = estimate_usage(dep.tokenizer, request, generated)
        row.tokens_estimated = True
    cost = dep.card.cost(usage)
    row.prompt_tokens, row.cached_tokens = usage.prompt_tokens, usage.cached_tokens
    row.completion_tokens, row.reasoning_tokens = usage.completion_tokens, usage.reasoning_tokens
    row.cache_write_tokens = usage.cache_write_tokens
    row.cost_input_nanos = usd_to_nanos(cost.input)
    row.cost_cached_input_nanos = usd_to_nanos(cost.cached_input)
    row.cost_cache_write_nanos = usd_to_nanos(cost.cache_write)
    row.cost_output_nanos = usd_to_nanos(cost.output)
    row.cost_reasoning_nanos = usd_to_nanos(cost.reasoning)
    row.cost_nanos = (
        row.cost_input_nanos
        + row.cost_cached_input_nanos
        + row.cost_cache_write_nanos
        + row.cost_output_nanos
        + row.cost_reasoning_nanos
    )
    allowed = output_allowance(request)
    if allowed is not None and usage.completion_tokens > allowed:
        # The upstream generated (or bills) more than the max_tokens it was sent, so a hold
        # that priced that max_tokens was too small. The row keeps what it billed: the
        # ledger must match the provider's invoice, so a budget is over by the excess.
        log.warning(
            "deployment %s billed %d output tokens for a call sent max_tokens allowing %d "
            "($%.6f, held $%.6f); recorded as billed",
            dep.name,
            usage.completion_tokens,
            allowed,
            row.cost_nanos / 1e9,
            row.hold_micros / 1e6,
        )


def output_allowance(body: dict[str, Any]) -> int | None:
    """The most output tokens a request sent upstream allows: its max_tokens (either
    spelling) for each of max(n, best_of) candidates; None when it sets no max_tokens."""
    limits = [body[f] for f in ("max_tokens", "max_completion_tokens") if body.get(f)]
    if not limits:
        return None
    return int(max(limits)) * max(body.get("n") or 1, body.get("best_of") or 1)
