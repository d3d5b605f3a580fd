"""A capacity plan for people (tables within 80 columns) and for machines (a dict).

out.print(plan_view(plan))          # the mix, its power and footprint, what binds
json.dumps(plan_dict(plan))         # the same figures, unrounded, with their sources
"""

from __future__ import annotations

import math
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from unitcost.catalog import Figure, cite
from unitcost.economics.plan import Plan
from unitcost.report.tables import number

__all__ = ["plan_dict", "plan_view"]


def _table(title: str, columns: list[str]) -> Table:
    t = Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False
    )
    for i, name in enumerate(columns):
        # a figure too wide for 80 columns folds onto a second line; it is never cut short
        t.add_column(name, justify="left" if i == 0 else "right", overflow="fold")
    return t


def _pct(value: float | None) -> str:
    return "(none)" if value is None or math.isnan(value) else f"{value:.1%}"


def _usd(value: float) -> str:
    return f"${value:,.2f}" if value >= 1 else f"${value:.3f}"


def _tokens(per_day: float) -> str:
    return f"{per_day / 1e9:,.2f}B" if per_day >= 1e9 else f"{per_day / 1e6:,.1f}M"


def _context(p: Plan, context: dict[str, Figure]) -> list[str]:
    world = context.get("data-centre-electricity-world-twh")
    if world is None:
        return []
    gwh = p.facility_mwh_per_day * 365 / 1000
    return [
        f"a year of this fleet: {gwh:,.0f} GWh, {gwh / (world.value * 1000):.3%} of the "
        f"{world.value:,.0f} TWh all data centres used in {world.as_of} ({cite(world.source)})"
    ]


def plan_view(p: Plan, context: dict[str, Figure] | None = None) -> RenderableType:
    inp, f = p.inputs, p.inputs.facility
    demand = sum(b.requests_per_s for b in inp.buckets)
    parts: list[RenderableType] = []
    mix = _table(
        f"least-cost mix: {demand:,.1f} req/s in {len(inp.buckets)} buckets",
        ["kind", "accel", "util", "tok/day", "$/1M tok", "$/day", "margin"],
    )
    for k in p.kinds:
        mix.add_row(
            k.kind.name,
            f"{k.accelerators:,}",
            f"{k.utilisation:.0%}",
            _tokens(k.tokens_per_day),
            _usd(k.usd_per_1m_tokens),
            f"${k.usd_per_hour * 24:,.0f}",
            _pct(p.margin(k)),
        )
    tokens = p.total("input_tokens_per_day") + p.total("output_tokens_per_day")
    mix.add_row(
        "total",
        f"{sum(k.accelerators for k in p.kinds):,}",
        "",
        _tokens(tokens),
        _usd(p.usd_per_day / tokens * 1e6) if tokens else "(none)",
        f"${p.usd_per_day:,.0f}",
        _pct(p.margin()),
    )
    parts.append(mix)
    power = _table(
        f"power and footprint at PUE {f.pue:g}",
        ["kind", "MW", "MWh/day", "water m³/day", "tCO2/day"],
    )
    for k in p.kinds:
        power.add_row(
            k.kind.name,
            f"{k.facility_mw:,.3f}",
            f"{k.facility_mw * 24:,.1f}",
            f"{k.it_mw * 24 * f.wue_l_per_kwh:,.1f}",
            f"{k.facility_mw * 24 * f.carbon_g_per_kwh / 1000:,.2f}",
        )
    cap = f" of {number(f.power_cap_mw, 6)} MW cap" if f.power_cap_mw is not None else ""
    power.add_row(
        "total" + cap,
        f"{p.total('facility_mw'):,.3f}",
        f"{p.facility_mwh_per_day:,.1f}",
        f"{p.water_m3_per_day:,.1f}",
        f"{p.carbon_t_per_day:,.2f}",
    )
    parts.append(power)
    lines = [*p.binding]
    slo = [
        f"TTFT p95 ≤ {inp.ttft_slo_s * 1000:,.0f} ms" if inp.ttft_slo_s else "",
        f"TPOT p95 ≤ {inp.tpot_slo_s * 1000:,.0f} ms" if inp.tpot_slo_s else "",
    ]
    lines.append(
        "SLO: " + (", ".join(s for s in slo if s) or "(none)") + f"; each replica at most "
        f"{inp.max_load:.0%} loaded (headroom for p95; queues are not simulated)"
    )
    shown = {
        "pue": f"PUE {f.pue:g}",
        "usd_per_mwh": f"${f.usd_per_mwh:,.2f}/MWh",
        "wue_l_per_kwh": f"WUE {f.wue_l_per_kwh:g} L/kWh",
        "carbon_g_per_kwh": f"{f.carbon_g_per_kwh:g} gCO2/kWh",
    }
    lines.extend(f"{shown.get(k, k)}: {v}" for k, v in f.sources)
    # what each chosen kind costs an hour, and from where (a catalog midpoint when the
    # plan gave no lease or purchase price)
    lines.extend(f"{k.kind.name} priced at {k.kind.cost_source}" for k in p.kinds)
    lines.extend(_context(p, context or {}))
    lines.append(f"solved in {p.solve_s:.2f} s (HiGHS via scipy.optimize.milp)")
    parts.extend(Text(line, overflow="fold") for line in lines)
    return Group(*parts)


def plan_dict(p: Plan) -> dict[str, Any]:
    inp = p.inputs
    return {
        "kinds": [
            {
                "kind": k.kind.name,
                "replicas": k.replicas,
                "accelerators": k.accelerators,
                "utilisation": k.utilisation,
                "served_requests_per_s": k.served,
                "input_tokens_per_day": k.input_tokens_per_day,
                "output_tokens_per_day": k.output_tokens_per_day,
                "usd_per_hour": k.usd_per_hour,
                "usd_per_1m_tokens": k.usd_per_1m_tokens,
                "it_mw": k.it_mw,
                "facility_mw": k.facility_mw,
                "margin": p.margin(k),
                "cost_source": k.kind.cost_source,
            }
            for k in p.kinds
        ],
        "total": {
            "usd_per_day": p.usd_per_day,
            "facility_mw": p.total("facility_mw"),
            "facility_mwh_per_day": p.facility_mwh_per_day,
            "water_m3_per_day": p.water_m3_per_day,
            "carbon_t_per_day": p.carbon_t_per_day,
            "revenue_per_day": p.revenue_per_day(),
            "margin": p.margin(),
        },
        "binding": p.binding,
        "capacity": [
            {
                "kind": kind,
                "bucket": bucket,
                "requests_per_s_per_replica": c.requests_per_s,
                "batch": c.batch,
                "ttft_ms": c.ttft_s * 1000,
                "tpot_ms": c.tpot_s * 1000,
                "why_not": c.why_not,
            }
            for (kind, bucket), c in p.capacity.items()
        ],
        "facility": {
            "pue": inp.facility.pue,
            "usd_per_mwh": inp.facility.usd_per_mwh,
            "power_cap_mw": inp.facility.power_cap_mw,
            "wue_l_per_kwh": inp.facility.wue_l_per_kwh,
            "carbon_g_per_kwh": inp.facility.carbon_g_per_kwh,
            "sources": dict(inp.facility.sources),
        },
        "solve_s": p.solve_s,
    }
