"""One ledger row per upstream call, cache hit or rejection: who, what, tokens, what it cost.

    row = UsageRecord(id=call_id, request_id=..., ts=time.time(), tenant="acme", ...)
    row.cost_nanos = 1_250_000        # $0.00125, exact
    row.cost_usd                      # 0.00125, for display only

Rows are appended, never updated: a retry or a fallback is a second row under the same
`request_id`. Money is integer nano-dollars (1e-9 USD) per cost line, so sums over millions
of rows are exact and any price given to $0.001 per million tokens is represented without
rounding; `cost_usd` and `saving_usd` are derived for display. Cost lines come from the
deployment's price card, whose origin is kept in `price_origin`.

The column order below is the ledger's on-disk schema (`SCHEMA_VERSION`): a new field is a
new numbered migration in `ledger/migrations.py`, never a silent change here.
"""

from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass, fields
from enum import StrEnum
from functools import lru_cache
from operator import attrgetter
from typing import Any

__all__ = [
    "COLUMNS",
    "GROUPS",
    "NANOS_PER_USD",
    "RowStatus",
    "UsageRecord",
    "nanos_to_usd",
    "new_id",
    "parse_groups",
    "usd_to_nanos",
]

NANOS_PER_USD = 1_000_000_000


class _Ids:
    """Unique ids without a system call each: 8 random bytes per process (drawn again in a
    forked child) and a counter, as 32 hex digits like a UUID."""

    def __init__(self) -> None:
        self.reset()
        os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        self.prefix = os.urandom(8).hex()
        self.count = itertools.count()

    def __call__(self) -> str:
        return f"{self.prefix}{next(self.count):016x}"


#: a new row, request or hold id: unique across processes and hosts
new_id = _Ids()


def usd_to_nanos(usd: float) -> int:
    """Dollars (a price card's float arithmetic) to integer nano-dollars, rounded half up."""
    return int(usd * NANOS_PER_USD + 0.5) if usd >= 0 else -int(-usd * NANOS_PER_USD + 0.5)


def nanos_to_usd(nanos: int) -> float:
    return nanos / NANOS_PER_USD


class RowStatus(StrEnum):
    """What happened to one call. Only `ok`, `cache_hit` and `escalated` carry an answer."""

    OK = "ok"  # the upstream answered and the client has it
    CACHE_HIT = "cache_hit"  # answered from the cache; zero cost, `saving_nanos` saved
    ESCALATED = "escalated"  # a cascade's cheap answer failed its check; paid, not served
    WITHHELD = "withheld"  # the guard stopped an answer (its canary came back); paid
    UPSTREAM_ERROR = "upstream_error"  # 5xx, 429, malformed body or stream, connection lost
    UPSTREAM_TIMEOUT = "upstream_timeout"  # connect, first-token or between-token timeout
    UPSTREAM_REJECTED = "upstream_rejected"  # a 4xx from upstream, relayed to the client
    CLIENT_DISCONNECTED = "client_disconnected"  # the client left mid-stream
    GATEWAY_ERROR = "gateway_error"  # a bug of ours; the message is in `error`
    REJECTED = "rejected"  # refused before any upstream call (rate, budget, guard, input)
    INTERRUPTED = "interrupted"  # in flight when the gateway died; charged at its hold


#: statuses whose rows are answers a client received
ANSWERED = (RowStatus.OK, RowStatus.CACHE_HIT)


@dataclass(slots=True)
class UsageRecord:
    # WARNING: the order of these fields is the ledger's column order. Append new fields at
    # the end with a migration in ledger/migrations.py and bump SCHEMA_VERSION there.
    id: str
    request_id: str
    ts: float
    tenant: str
    endpoint: str
    requested: str
    deployment: str
    status: str  # a RowStatus value
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
    price_origin: str = ""
    error: str | None = None
    # schema 2
    key_id: str | None = None  # the first 12 hex digits of the API key's SHA-256
    workload_class: str | None = None
    cache_write_tokens: int = 0  # prompt tokens written to a provider's prompt cache
    upstream_ms: float | None = None  # time spent waiting on the upstream (overhead = rest)
    cost_input_nanos: int = 0
    cost_cached_input_nanos: int = 0
    cost_cache_write_nanos: int = 0
    cost_output_nanos: int = 0
    cost_reasoning_nanos: int = 0
    cost_nanos: int = 0
    saving_nanos: int = 0
    hold_micros: int = 0  # what admission reserved for this call (integer micro-dollars)
    guard_action: str | None = None  # allow, flag, redact, block
    guard_reasons: str | None = None
    guard_ms: float | None = None

    @property
    def day(self) -> str:
        return _day(int(self.ts // 86400))

    @property
    def cost_usd(self) -> float:
        return self.cost_nanos / NANOS_PER_USD

    @property
    def saving_usd(self) -> float:
        return self.saving_nanos / NANOS_PER_USD

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
    "key_id",
    "feature",
    "cohort",
    "end_user",
    "deployment",
    "requested",
    "workload_class",
    "endpoint",
    "status",
    "day",
)


def parse_groups(text: str) -> list[str]:
    """`tenant,feature,tenant` → ["tenant", "feature"]: a comma list, each column once (the
    store checks the names; a column named twice would be grouped twice)."""
    return list(dict.fromkeys(g for g in text.split(",") if g))
