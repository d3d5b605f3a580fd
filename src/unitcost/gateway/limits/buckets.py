"""Which budgets and rate limits apply to a call, as buckets both backends understand.

    plan = BucketPlan(settings)
    ask = Ask(tenant="acme", key_id="ci-bot", feature="search", hold_micros=4_000, tokens=900,
              first=True)
    plan.budgets(ask)    # [Budget("b:tenant:acme:2026-12", limit_micros=10_000_000, ...), ...]
    plan.rates(ask)      # [Rate("r:rpm:tenant:acme", burst=600, per_ms=0.01, cost=1), ...]

A budget bucket is a month's spend in integer micro-dollars: spent + held + this hold must
stay within its limit. A rate bucket is a token bucket (requests or tokens per minute,
bursting to a minute's worth). Money is rounded up to the micro-dollar, so rounding can
never let a budget be exceeded.
"""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass

from unitcost.gateway.settings import GatewaySettings, TenantConfig

__all__ = [
    "Ask",
    "BucketPlan",
    "Budget",
    "Hold",
    "Rate",
    "micros_from_nanos",
    "month_start",
    "seconds_to_month_end",
    "usd",
]

MICROS_PER_USD = 1_000_000


def micros_from_nanos(nanos: int) -> int:
    return -(-nanos // 1000)  # ceiling: a budget never loses to rounding


def usd(micros: int) -> str:
    return f"${micros / MICROS_PER_USD:,.4f}"


def month_start(now: float | None = None) -> str:
    t = time.gmtime(now if now is not None else time.time())
    return f"{t.tm_year:04d}-{t.tm_mon:02d}-01"


def seconds_to_month_end(now: float | None = None) -> int:
    now = time.time() if now is None else now
    t = time.gmtime(now)
    days = calendar.monthrange(t.tm_year, t.tm_mon)[1]
    end = calendar.timegm((t.tm_year, t.tm_mon, days, 0, 0, 0)) + 86400
    return max(1, int(end - now))


@dataclass(frozen=True, slots=True)
class Ask:
    """What one call asks admission for."""

    tenant: str
    key_id: str | None
    feature: str | None
    hold_micros: int  # the most this call can cost
    tokens: int  # prompt tokens + max_tokens, for tokens-per-minute limits
    first: bool  # the request's first call: counts against requests-per-minute


@dataclass(frozen=True, slots=True)
class Budget:
    key: str
    limit_micros: int
    label: str  # "tenant 'acme'", for messages
    scope: tuple[str, ...]  # the ledger columns its spend is rebuilt from
    values: tuple[str | None, ...]
    month: str


@dataclass(frozen=True, slots=True)
class Rate:
    key: str
    burst: float
    per_ms: float
    cost: float
    label: str  # "tenant 'acme': 600 requests per minute"


@dataclass(slots=True)
class Hold:
    """A reservation: settled to what the call really cost, or refunded."""

    id: str
    micros: int
    tokens: int
    budgets: tuple[Budget, ...]
    rates: tuple[Rate, ...]
    settled: bool = False

    @property
    def empty(self) -> bool:
        return not self.budgets and not self.rates


class BucketPlan:
    def __init__(self, settings: GatewaySettings) -> None:
        self.tenants: dict[str, TenantConfig] = {t.name: t for t in settings.tenants}
        self.key_limits = {(t.name, k.name): k for t in settings.tenants for k in t.api_keys}

    def budgeted(self, tenant: str) -> bool:
        config = self.tenants.get(tenant)
        return config is not None and config.budgeted

    def max_request_micros(self, tenant: str) -> int | None:
        config = self.tenants.get(tenant)
        if config is None or config.max_request_usd is None:
            return None
        return round(config.max_request_usd * MICROS_PER_USD)

    def budgets(self, ask: Ask, now: float | None = None) -> list[Budget]:
        config = self.tenants.get(ask.tenant)
        if config is None:
            return []
        month = month_start(now)[:7]
        out = []
        if config.budget_usd_per_month is not None:
            out.append(
                Budget(
                    f"b:tenant:{ask.tenant}:{month}",
                    round(config.budget_usd_per_month * MICROS_PER_USD),
                    f"tenant {ask.tenant!r}",
                    ("tenant",),
                    (ask.tenant,),
                    month,
                )
            )
        key = self.key_limits.get((ask.tenant, ask.key_id or ""))
        if key is not None and key.budget_usd_per_month is not None:
            out.append(
                Budget(
                    f"b:key:{ask.tenant}:{key.name}:{month}",
                    round(key.budget_usd_per_month * MICROS_PER_USD),
                    f"key {key.name!r} of tenant {ask.tenant!r}",
                    ("tenant", "key_id"),
                    (ask.tenant, key.name),
                    month,
                )
            )
        feature_budget = config.feature_budgets_usd_per_month.get(ask.feature or "")
        if feature_budget is not None:
            out.append(
                Budget(
                    f"b:feature:{ask.tenant}:{ask.feature}:{month}",
                    round(feature_budget * MICROS_PER_USD),
                    f"feature {ask.feature!r} of tenant {ask.tenant!r}",
                    ("tenant", "feature"),
                    (ask.tenant, ask.feature),
                    month,
                )
            )
        return out

    def rates(self, ask: Ask) -> list[Rate]:
        config = self.tenants.get(ask.tenant)
        if config is None:
            return []
        out = []
        if ask.first and config.requests_per_minute:
            rpm = config.requests_per_minute
            out.append(
                Rate(
                    f"r:rpm:tenant:{ask.tenant}",
                    rpm,
                    rpm / 60_000,
                    1.0,
                    f"tenant {ask.tenant!r}: {rpm:g} requests per minute",
                )
            )
        key = self.key_limits.get((ask.tenant, ask.key_id or ""))
        if ask.first and key is not None and key.requests_per_minute:
            rpm = key.requests_per_minute
            out.append(
                Rate(
                    f"r:rpm:key:{ask.tenant}:{key.name}",
                    rpm,
                    rpm / 60_000,
                    1.0,
                    f"key {key.name!r}: {rpm:g} requests per minute",
                )
            )
        if config.tokens_per_minute and ask.tokens:
            tpm = config.tokens_per_minute
            out.append(
                Rate(
                    f"r:tpm:tenant:{ask.tenant}",
                    tpm,
                    tpm / 60_000,
                    float(ask.tokens),
                    f"tenant {ask.tenant!r}: {tpm:g} tokens per minute",
                )
            )
        return out
