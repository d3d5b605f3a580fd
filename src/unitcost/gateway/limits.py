"""Admission: per-tenant request rates and monthly budgets, enforced in process.

    limits = Limits(settings, spent_this_month={"acme": 12.5})   # seeded from the ledger
    limits.admit("acme")          # raises LimitExceeded (429) when over either limit
    limits.settle("acme", 0.004)  # after the call: what it really cost

Rates are token buckets (`requests_per_minute`, bursting to a minute's worth). Budgets
compare the tenant's spend this calendar month (UTC) with `budget_usd_per_month`; a request
is admitted while spend is under the budget, so calls in flight when it is crossed can
overshoot it by their own cost. The ledger stays the record: these figures only decide
admission, and are rebuilt from it at start-up.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from unitcost.errors import LimitExceeded
from unitcost.gateway.settings import GatewaySettings

__all__ = ["Limits", "month_start"]


def month_start(now: float | None = None) -> str:
    t = time.gmtime(now if now is not None else time.time())
    return f"{t.tm_year:04d}-{t.tm_mon:02d}-01"


@dataclass
class _Tenant:
    rate: float | None  # requests per second
    burst: float
    tokens: float
    refilled: float
    budget: float | None
    spent: float
    month: str


class Limits:
    def __init__(
        self, settings: GatewaySettings, spent_this_month: dict[str, float] | None = None
    ) -> None:
        spent = spent_this_month or {}
        now, month = time.monotonic(), month_start()
        self.tenants: dict[str, _Tenant] = {}
        for t in settings.tenants:
            rpm = t.requests_per_minute
            if rpm is None and t.budget_usd_per_month is None:
                continue
            self.tenants[t.name] = _Tenant(
                rate=rpm / 60.0 if rpm else None,
                burst=rpm or 0.0,
                tokens=rpm or 0.0,
                refilled=now,
                budget=t.budget_usd_per_month,
                spent=spent.get(t.name, 0.0),
                month=month,
            )
        self._lock = threading.Lock()

    def admit(self, tenant: str) -> None:
        state = self.tenants.get(tenant)
        if state is None:
            return
        with self._lock:
            month = month_start()
            if month != state.month:  # a new month: the budget starts again
                state.month, state.spent = month, 0.0
            if state.budget is not None and state.spent >= state.budget:
                raise LimitExceeded(
                    f"tenant {tenant!r} has spent ${state.spent:.4f} of its "
                    f"${state.budget:g} budget for the month starting {state.month}"
                )
            if state.rate is not None:
                now = time.monotonic()
                state.tokens = min(state.burst, state.tokens + (now - state.refilled) * state.rate)
                state.refilled = now
                if state.tokens < 1.0:
                    raise LimitExceeded(
                        f"tenant {tenant!r} is over its {state.burst:g} requests per minute; "
                        f"retry in {(1.0 - state.tokens) / state.rate:.1f} s"
                    )
                state.tokens -= 1.0

    def settle(self, tenant: str, cost_usd: float) -> None:
        state = self.tenants.get(tenant)
        if state is not None and cost_usd:
            with self._lock:
                state.spent += cost_usd
