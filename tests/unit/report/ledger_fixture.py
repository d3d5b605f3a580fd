"""A seven-row ledger whose totals are computed by hand in the tests that read it.

Cards used to write the cost lines (nano-dollars per token = $/1M × 1000):
  small: input $1/1M (1,000), cached $0.10/1M (100), output $4/1M (4,000)
  big:   input $10/1M (10,000), output and reasoning $40/1M (40,000)
"""

from __future__ import annotations

import calendar
import time
from decimal import Decimal
from pathlib import Path

from unitcost.ledger.record import UsageRecord
from unitcost.ledger.store import open_store
from unitcost.report.inputs import Card

CARDS = {
    "small": Card("small", Decimal(1), Decimal(4), Decimal("0.1"), None, "test card"),
    "big": Card("big", Decimal(10), Decimal(40), None, None, "test card"),
}


def _ts(day: str, hour: int = 12) -> float:
    return calendar.timegm(time.strptime(f"{day} {hour}", "%Y-%m-%d %H"))


def _row(
    id: str,
    day: str,
    tenant: str,
    feature: str | None,
    cohort: str | None,
    user: str | None,
    deployment: str,
    requested: str,
    status: str,
    http: int,
    prompt: int = 0,
    cached: int = 0,
    completion: int = 0,
    reasoning: int = 0,
    c_in: int = 0,
    c_cached: int = 0,
    c_out: int = 0,
    c_reason: int = 0,
    saving: int = 0,
    error: str | None = None,
) -> UsageRecord:
    return UsageRecord(
        id=id,
        request_id=f"req-{id}",
        ts=_ts(day),
        tenant=tenant,
        endpoint="chat",
        requested=requested,
        deployment=deployment,
        status=status,
        http_status=http,
        feature=feature,
        cohort=cohort,
        end_user=user,
        prompt_tokens=prompt,
        cached_tokens=cached,
        completion_tokens=completion,
        reasoning_tokens=reasoning,
        key_id=f"key-{tenant}",
        cost_input_nanos=c_in,
        cost_cached_input_nanos=c_cached,
        cost_output_nanos=c_out,
        cost_reasoning_nanos=c_reason,
        cost_nanos=c_in + c_cached + c_out + c_reason,
        saving_nanos=saving,
        error=error,
        latency_ms=100.0,
    )


ROWS = [
    # 800 fresh × 1,000 + 200 cached × 100 + 500 out × 4,000 = 2,820,000
    _row(
        "r1",
        "2026-03-02",
        "acme",
        "chat",
        "free",
        "u1",
        "small",
        "auto",
        "ok",
        200,
        1000,
        200,
        500,
        0,
        800_000,
        20_000,
        2_000_000,
    ),
    # 2,000 × 10,000 + 1,000 × 40,000 = 60,000,000
    _row(
        "r2",
        "2026-03-02",
        "acme",
        "chat",
        "pro",
        "u2",
        "big",
        "auto",
        "ok",
        200,
        2000,
        0,
        1000,
        0,
        20_000_000,
        0,
        40_000_000,
    ),
    # 500 × 10,000 + 50 × 40,000 + 50 reasoning × 40,000 = 9,000,000
    _row(
        "r3",
        "2026-03-03",
        "globex",
        "search",
        "pro",
        "u3",
        "big",
        "big",
        "ok",
        200,
        500,
        0,
        100,
        50,
        5_000_000,
        0,
        2_000_000,
        2_000_000,
    ),
    _row(
        "r4",
        "2026-03-03",
        "globex",
        "search",
        None,
        None,
        "small",
        "small",
        "cache_hit",
        200,
        1000,
        0,
        500,
        0,
        saving=3_000_000,
    ),
    _row(
        "r5",
        "2026-03-09",
        "acme",
        "chat",
        "free",
        "u1",
        "small",
        "auto",
        "upstream_error",
        502,
        error="upstream answered 502",
    ),
    _row(
        "r6",
        "2026-03-09",
        "acme",
        None,
        None,
        None,
        "",
        "auto",
        "rejected",
        429,
        error="rate limit: 600 requests per minute",
    ),
    # 4,000 × 1,000 + 1,000 × 4,000 = 8,000,000
    _row(
        "r7",
        "2026-03-10",
        "globex",
        "search",
        "pro",
        "u3",
        "small",
        "auto",
        "ok",
        200,
        4000,
        0,
        1000,
        0,
        4_000_000,
        0,
        4_000_000,
    ),
]
TOTAL_NANOS = 79_820_000


def make_ledger(directory: Path) -> str:
    url = f"sqlite:///{directory / 'ledger.db'}"
    store = open_store(url)
    try:
        store.append(ROWS)
    finally:
        store.close()
    return url
