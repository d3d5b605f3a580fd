"""The ledger report's money tables: budgets, per-feature P&L, fleet reconciliation,
re-pricing, top spenders.

    burn_down(daily, budgets, as_of="2026-03-17")   # month-to-date, forecast, run-out date
    fleet_reconciliation(cells, fleets, hours=744)  # what the hardware cost vs what was used

Fleet cost is replicas × accelerators × hours × the card's $/accelerator-hour; the busy
time is the period's tokens ÷ the replica's throughput (prefill for input, decode for
output), so utilisation = busy hours ÷ paid hours, and the idle cost is the rest.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from unitcost.ledger.queries import Cell, Costliest, Spender
from unitcost.report.analysis import fold, paid, paid_status
from unitcost.report.inputs import Card, Fleet
from unitcost.report.model import Column, Table, usd

__all__ = [
    "PlanBand",
    "burn_down",
    "cache_savings",
    "costliest_table",
    "feature_pnl",
    "fleet_reconciliation",
    "repricing",
    "spender_table",
]

_NANOS = Decimal(1_000_000_000)


def _nanos(dollars: Decimal) -> int:
    return int((dollars * _NANOS).to_integral_value(rounding=ROUND_HALF_UP))


def cache_savings(cells: list[Cell]) -> Table:
    by = fold(cells, ("deployment",), lambda s: s == "cache_hit")
    rows = [[d, a.requests, a.tokens, usd(a.saving_nanos)] for d, a in sorted(by.items())]
    return Table(
        "cache_savings",
        "Cache savings: answers served from the cache",
        [
            Column("deployment"),
            Column("hits", "int"),
            Column("tokens", "int"),
            Column("saved", "usd", 4),
        ],
        rows,
        note="Each hit saves what the cached answer cost when it was first paid for.",
    )


def spender_table(what: str, spenders: Sequence[Spender], total_nanos: int) -> Table:
    rows = [
        [
            s.name,
            s.requests,
            s.tokens,
            usd(s.cost_nanos),
            s.cost_nanos / total_nanos if total_nanos else None,
        ]
        for s in spenders
    ]
    return Table(
        f"top_{what}",
        f"Top spenders by {what}",
        [
            Column(what),
            Column("requests", "int"),
            Column("tokens", "int"),
            Column("cost", "usd", 4),
            Column("share of cost", "pct"),
        ],
        rows,
    )


def costliest_table(rows: Sequence[Costliest]) -> Table:
    import time

    return Table(
        "costliest_requests",
        "Most expensive calls",
        [
            Column("time (UTC)"),
            Column("request id"),
            Column("tenant"),
            Column("feature"),
            Column("deployment"),
            Column("status"),
            Column("in tok", "int"),
            Column("out tok", "int"),
            Column("cost", "usd", 6),
        ],
        [
            [
                time.strftime("%Y-%m-%d %H:%M", time.gmtime(r.ts)),
                r.request_id,
                r.tenant,
                r.feature,
                r.deployment,
                r.status,
                r.prompt_tokens,
                r.completion_tokens,
                usd(r.cost_nanos),
            ]
            for r in rows
        ],
    )


def burn_down(
    daily: Mapping[tuple[str, str], int], budgets: Mapping[str, Decimal], as_of: str
) -> Table:
    """Per tenant with a monthly budget: spend from the 1st of `as_of`'s month to `as_of`,
    the month-end forecast at the month's average daily rate, and the day the budget runs
    out at that rate. `daily` maps (tenant, day) to nano-dollars."""
    today = date.fromisoformat(as_of)
    first = today.replace(day=1)
    days_in_month = calendar.monthrange(today.year, today.month)[1]
    elapsed = (today - first).days + 1
    rows: list[list[Any]] = []
    for tenant in sorted(budgets):
        budget = _nanos(budgets[tenant])
        spent = sum(
            n for (t, d), n in daily.items() if t == tenant and first.isoformat() <= d <= as_of
        )
        forecast = spent * days_in_month // elapsed
        if spent >= budget:
            runs_out = "spent"
        elif spent == 0:
            runs_out = "not at this rate"
        else:
            # the first day whose cumulative spend at the average rate reaches the budget
            day_n = -(-budget * elapsed // spent)  # ceil
            runs_out = (
                (first + timedelta(days=day_n - 1)).isoformat()
                if day_n <= days_in_month
                else "not this month"
            )
        rows.append(
            [
                tenant,
                usd(budget),
                usd(spent),
                spent / budget if budget else None,
                usd(forecast),
                forecast / budget if budget else None,
                runs_out,
            ]
        )
    return Table(
        "budget_burn_down",
        f"Budgets: {first.isoformat()} to {as_of}, forecast to month end",
        [
            Column("tenant"),
            Column("budget", "usd"),
            Column("spent", "usd"),
            Column("used", "pct"),
            Column("forecast", "usd"),
            Column("forecast share", "pct"),
            Column("runs out"),
        ],
        rows,
        note=f"Forecast = spent ÷ {elapsed} days × {days_in_month} days (the month's average "
        "daily rate so far). Budgets from the gateway config's tenants[].budget_usd_per_month.",
    )


@dataclass(frozen=True)
class PlanBand:
    """A plan's figures for one feature over the report's period (P5, P50, P95)."""

    revenue: tuple[float, float, float]
    cogs: tuple[float, float, float]


def feature_pnl(
    cells: list[Cell],
    revenue: Mapping[str, Decimal] | None,
    plan: Mapping[str, PlanBand] | None,
) -> Table:
    """Measured COGS (the ledger's inference cost) against revenue (CSV, else the plan's P50)
    → gross margin; and the measured COGS against the plan's P5–P95 band."""
    by = fold(cells, ("feature",))
    names = sorted(set(by) | set(revenue or {}) | set(plan or {}), key=str)
    rows: list[list[Any]] = []
    for name in names:
        cogs = usd(by[name].cost_nanos) if name in by else Decimal(0)
        band = (plan or {}).get(str(name)) if name is not None else None
        rev: Decimal | None = None
        source = "–"
        if revenue and name in revenue:
            rev, source = revenue[name], "revenue CSV"
        elif band is not None:
            rev, source = Decimal(repr(band.revenue[1])).quantize(Decimal("0.01")), "plan P50"
        margin = float((rev - cogs) / rev) if rev else None
        verdict = "–"
        if band is not None:
            lo, _mid, hi = band.cogs
            verdict = (
                "above plan"
                if cogs > Decimal(repr(hi))
                else ("below plan" if cogs < Decimal(repr(lo)) else "within plan")
            )
        rows.append(
            [
                name,
                rev,
                source,
                cogs,
                margin,
                None if band is None else Decimal(repr(band.cogs[1])),
                None if band is None else f"${band.cogs[0]:,.2f} – ${band.cogs[2]:,.2f}",
                verdict,
            ]
        )
    return Table(
        "feature_pnl",
        "Per-feature P&L over the period",
        [
            Column("feature"),
            Column("revenue", "usd"),
            Column("revenue from"),
            Column("COGS (measured)", "usd"),
            Column("gross margin", "pct"),
            Column("plan COGS P50", "usd"),
            Column("plan P5 – P95", "range"),
            Column("actual vs plan"),
        ],
        rows,
        note="Measured COGS is the ledger's inference cost; the plan's COGS also carries its "
        "eval/safety, training and fixed lines. Plan figures are per month in the plan file, "
        "scaled to the period's days.",
    )


def fleet_reconciliation(cells: list[Cell], fleets: Mapping[str, Fleet], hours: float) -> Table:
    by = fold(cells, ("deployment",), paid_status)
    rows: list[list[Any]] = []
    for name in sorted(fleets):
        f = fleets[name]
        a = by.get(name)
        prompt, completion = (a.prompt, a.completion) if a else (0, 0)
        attributed = a.cost_nanos if a else 0
        paid_hours = f.replicas * hours
        rate = f.usd_per_accelerator_hour * f.accelerators  # $ per replica-hour
        fleet_nanos = _nanos(rate * f.replicas * Decimal(repr(hours)))
        busy_s = prompt / f.prefill_tokens_per_s + completion / f.decode_tokens_per_s
        busy_nanos = _nanos(rate * Decimal(repr(busy_s)) / 3600)
        util = busy_s / 3600 / paid_hours if paid_hours else None
        idle = max(fleet_nanos - busy_nanos, 0)
        rows.append(
            [
                name,
                f"{f.replicas} × {f.accelerators}",
                paid_hours,
                usd(fleet_nanos),
                busy_s / 3600,
                util,
                usd(idle),
                usd(attributed),
                usd(fleet_nanos - attributed),
            ]
        )
    return Table(
        "fleet_reconciliation",
        "Fleet reconciliation: self-hosted hardware against what its requests used",
        [
            Column("deployment"),
            Column("replicas × acc"),
            Column("paid hours", "float", 1),
            Column("fleet cost", "usd"),
            Column("busy hours", "float", 3),
            Column("utilisation", "pct"),
            Column("idle cost", "usd"),
            Column("attributed", "usd"),
            Column("not attributed", "usd"),
        ],
        rows,
        note="Fleet cost = replicas × accelerators × hours × $/accelerator-hour from the price "
        "card's TCO; busy hours = input tokens ÷ prefill tok/s + output tokens ÷ decode tok/s "
        "per replica; attributed = the ledger's cost lines for its rows.",
    )


def repricing(cells: list[Cell], cards: Sequence[Card]) -> Table:
    """The period's paid traffic re-priced on each card: cost only, no quality claim."""
    p = paid(cells)
    tokens = [
        sum(getattr(c, k) for c in p)
        for k in ("prompt_tokens", "cached_tokens", "completion_tokens", "reasoning_tokens")
    ]
    actual = sum(c.cost_nanos for c in p)
    rows = []
    for card in cards:
        cost = card.cost_nanos(*tokens)
        rows.append(
            [
                card.name,
                card.input_per_m,
                card.output_per_m,
                usd(cost),
                (cost - actual) / actual if actual else None,
                card.origin,
            ]
        )
    return Table(
        "repricing",
        f"Re-pricing: the period's {tokens[0]:,} input and {tokens[2]:,} output tokens on "
        "other price cards",
        [
            Column("on card"),
            Column("$/1M in", "usd", 4),
            Column("$/1M out", "usd", 4),
            Column("would cost", "usd"),
            Column("vs actual", "pct"),
            Column("priced by"),
        ],
        rows,
        note=f"Actual: {Column('', 'usd').format(usd(actual))}. Cost only: no claim that the "
        "answers would have been as good.",
    )
