"""Budgets, holds and rate limits in process: the single-replica default.

    limits = MemoryLimits(plan, spent={"b:tenant:acme:2026-12": 1_250_000})  # from the ledger
    hold = await limits.reserve(ask)      # all buckets or none; raises BudgetExceeded (429)
    await limits.settle(hold, actual_micros=830, actual_tokens=412)

Every bucket that applies is checked and debited in one step under one lock, so 200
concurrent calls against a budget that fits five admit exactly five. Spend is rebuilt from
the ledger at start-up; holds of calls in flight at a crash come back from the journal as
`interrupted` rows charged at their hold, so the rebuilt spend already counts them.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from unitcost.gateway.limits.buckets import Ask, BucketPlan, Hold, Rate
from unitcost.gateway.limits.rejections import budget_exceeded, rate_exceeded
from unitcost.ledger.record import new_id

__all__ = ["MemoryLimits"]


@dataclass(slots=True)
class _Spend:
    spent: int = 0
    reserved: int = 0


@dataclass(slots=True)
class _Bucket:
    tokens: float
    refilled: float


class MemoryLimits:
    kind = "memory"

    def __init__(self, plan: BucketPlan, spent: dict[str, int] | None = None) -> None:
        self.plan = plan
        self._spend: dict[str, _Spend] = {k: _Spend(v) for k, v in (spent or {}).items()}
        self._rates: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    def spend(self, key: str) -> tuple[int, int]:
        """(spent, held) micro-dollars of a budget bucket."""
        s = self._spend.get(key, _Spend())
        return s.spent, s.reserved

    async def reserve(self, ask: Ask) -> Hold:
        return self.reserve_now(ask)

    def reserve_now(self, ask: Ask, now: float | None = None) -> Hold:
        budgets, rates = self.plan.budgets(ask, now), self.plan.rates(ask)
        hold = Hold(new_id(), ask.hold_micros, ask.tokens, tuple(budgets), tuple(rates))
        if hold.empty:
            return hold
        clock = time.monotonic()
        with self._lock:
            for b in budgets:
                s = self._spend.setdefault(b.key, _Spend())
                if s.spent + s.reserved + ask.hold_micros > b.limit_micros:
                    raise budget_exceeded(b, s.spent, s.reserved, ask.hold_micros, now)
            refilled = [self._refill(r, clock) for r in rates]
            for r, bucket in zip(rates, refilled, strict=True):
                if bucket.tokens < r.cost:
                    raise rate_exceeded(r, bucket.tokens)
            for b in budgets:
                self._spend[b.key].reserved += ask.hold_micros
            for r, bucket in zip(rates, refilled, strict=True):
                bucket.tokens -= r.cost
        return hold

    def _refill(self, rate: Rate, clock: float) -> _Bucket:
        bucket = self._rates.get(rate.key)
        if bucket is None:
            bucket = self._rates[rate.key] = _Bucket(rate.burst, clock)
        bucket.tokens = min(
            rate.burst, bucket.tokens + (clock - bucket.refilled) * 1000 * rate.per_ms
        )
        bucket.refilled = clock
        return bucket

    async def settle(self, hold: Hold, actual_micros: int, actual_tokens: int = 0) -> None:
        self.settle_now(hold, actual_micros, actual_tokens)

    def settle_now(self, hold: Hold, actual_micros: int, actual_tokens: int = 0) -> None:
        """The call cost `actual_micros` (0 refunds the hold); release the reservation."""
        if hold.settled or hold.empty:
            hold.settled = True
            return
        hold.settled = True
        with self._lock:
            for b in hold.budgets:
                s = self._spend.setdefault(b.key, _Spend())
                s.reserved -= hold.micros
                s.spent += actual_micros
            for r in hold.rates:
                if r.key.startswith("r:tpm:") and actual_tokens < hold.tokens:
                    bucket = self._rates.get(r.key)
                    if bucket is not None:  # give back the tokens the call did not use
                        bucket.tokens = min(r.burst, bucket.tokens + hold.tokens - actual_tokens)
