"""Count what a call used (usage, else the tokenizer) and price it in integer nano-dollars.

    meter(row, dep, request_body, usage, generated_text, rejected=None)

Usage the upstream sent and `wire.usage` accepted is billed as is. With none, or with usage
that was refused (a negative or non-integer count), the deployment's tokenizer counts the
prompt and the generated text, and the row is marked estimated. A call that cost more than
its hold (an upstream that ignored max_tokens) is billed as reported, and logged.
"""

from __future__ import annotations

import logging
from typing import Any

from unitcost.economics.pricing import TokenUsage
from unitcost.gateway.portfolio import Deployment
from unitcost.ledger.record import UsageRecord, usd_to_nanos
from unitcost.wire.usage import estimate_usage

__all__ = ["meter"]

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
    if row.hold_micros and row.cost_nanos > row.hold_micros * 1000:
        # The hold priced every token max_tokens allows, so only an upstream that generated
        # (or bills) past the max_tokens it was sent gets here. The row keeps what it billed:
        # the ledger must match the provider's invoice, so the budget is over by the excess.
        log.warning(
            "deployment %s billed $%.6f for a call held at $%.6f (%d output tokens): more "
            "than the max_tokens it was sent allows; recorded as billed",
            dep.name,
            row.cost_nanos / 1e9,
            row.hold_micros / 1e6,
            usage.completion_tokens,
        )
