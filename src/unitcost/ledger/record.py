"""One ledger row per upstream call (or cache hit): who, what, how many tokens, what it cost.

Rows are appended, never updated: a retry or a fallback is a second row under the same
`request_id`. Cost lines come from the deployment's price card, whose origin is kept.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from functools import lru_cache
from operator import attrgetter
from typing import Any

__all__ = ["COLUMNS", "GROUPS", "UsageRecord"]


@dataclass(slots=True)
class UsageRecord:
    id: str
    request_id: str
    ts: float
    tenant: str
    endpoint: str
    requested: str
    deployment: str
    status: str  # ok, upstream_error, upstream_timeout, client_disconnected, cache_hit
    http_status: int
    stream: bool = False
    feature: str | None = None
    cohort: str | None = None
    end_user: str | None = None
    route_reason: str | None = None
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    tokens_estimated: bool = False
    ttft_ms: float | None = None
    latency_ms: float = 0.0
    cost_input: float = 0.0
    cost_cached_input: float = 0.0
    cost_output: float = 0.0
    cost_reasoning: float = 0.0
    cost_usd: float = 0.0
    saving_usd: float = 0.0
    price_origin: str = ""
    error: str | None = None

    @property
    def day(self) -> str:
        return _day(int(self.ts // 86400))

    def row(self) -> tuple[Any, ...]:
        return (*_values(self), _day(int(self.ts // 86400)))

    def to_dict(self) -> dict[str, Any]:
        return dict(zip(_FIELDS, _values(self), strict=True))


@lru_cache(maxsize=64)
def _day(epoch_day: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(epoch_day * 86400))


_FIELDS = tuple(f.name for f in fields(UsageRecord))
_values = attrgetter(*_FIELDS)
COLUMNS = (*_FIELDS, "day")

#: what usage totals may be grouped by
GROUPS = (
    "tenant",
    "feature",
    "cohort",
    "end_user",
    "deployment",
    "requested",
    "endpoint",
    "status",
    "day",
)
