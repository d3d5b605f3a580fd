"""`unitcost report`: what the ledger says, for a period, as one self-contained HTML file,
a PNG per chart and a CSV per table.

    path = write_ledger_report("sqlite:///unitcost-ledger.db", Path("report"),
                               config=load_settings("gateway.yaml"))   # budgets, fleets
    # report/index.html, report/*.png, report/*.csv

The ledger is read with a handful of aggregate queries (`ledger.queries`); everything else
is folded from their results, so the report's figures are the ledger's sums, exactly. They
run on the ledger's columnar copy (`report.columnar`: DuckDB over Parquet, the same SQL).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from html import escape
from pathlib import Path

from unitcost.economics.spec import Scenario
from unitcost.ledger import queries as q
from unitcost.report import analysis as a
from unitcost.report import finance as f
from unitcost.report import ledger_charts as charts
from unitcost.report.charts import png_data_uri
from unitcost.report.columnar import open_report_reader
from unitcost.report.inputs import Card, ReportInputs, SettingsLike, inputs_from_settings
from unitcost.report.model import Column, Table, html_table, money, usd, write_csv

__all__ = ["LedgerReport", "Section", "build_ledger_report", "write_ledger_report"]

DIMENSIONS = ("feature", "tenant", "cohort", "deployment")
_MONTH_DAYS = 365.25 / 12


@dataclass
class Section:
    heading: str
    tables: list[Table] = field(default_factory=list)
    # (file stem, draw): charts are drawn only when the report is written
    charts: list[tuple[str, Callable[[], bytes]]] = field(default_factory=list)
    text: str = ""


@dataclass
class LedgerReport:
    title: str
    ledger: str
    first: str | None
    last: str | None
    sections: list[Section]

    def tables(self) -> list[Table]:
        return [t for s in self.sections for t in s.tables]


def _plan_bands(plan: Scenario, days: int) -> dict[str, f.PlanBand]:
    from unitcost.economics.scenario import monte_carlo

    mc = monte_carlo(plan, samples=min(plan.monte_carlo.samples, 20_000))
    pct = mc.percentiles()
    scale = days / _MONTH_DAYS
    bands = {}
    for feat in plan.features:
        rev, cogs = pct[f"features.{feat.name}.revenue"], pct[f"features.{feat.name}.cogs"]
        bands[feat.name] = f.PlanBand(
            tuple(rev[k] * scale for k in ("p5", "p50", "p95")),  # type: ignore[arg-type]
            tuple(cogs[k] * scale for k in ("p5", "p50", "p95")),  # type: ignore[arg-type]
        )
    return bands


def _scorecard(
    weekly: Table,
    cells: list[q.Cell],
    users: Mapping[str | None, int],
    pnl: Table,
    fleet: Table | None,
) -> Table:
    rows: list[list[str]] = []
    blended = [v for v in weekly.column("$/1M blended") if v is not None]
    if len(blended) > 1:
        first, last = blended[0], blended[-1]
        change = f" ({float(last / first - 1) * 100:+.1f}%)" if first else ""
        rows.append(
            [
                "$/1M tokens, first week → last",
                f"${first:.4f} → ${last:.4f}{change}",
                "ledger, paid calls",
            ]
        )
    elif blended:  # one week is a level, not a trend
        rows.append(["$/1M tokens (one week: no trend yet)", f"${blended[0]:.4f}", "ledger"])
    everyone = users.get("*", 0)
    if everyone:
        shares = sorted(((n / everyone, k) for k, n in users.items() if k != "*"), reverse=True)
        text = ", ".join(f"{k or '(none)'} {s * 100:.0f}%" for s, k in shares[:3])
        rows.append(
            [
                "attach: share of end users per feature",
                text,
                f"ledger end_user ({everyone:,} users)",
            ]
        )
    else:
        rows.append(["attach", "not available", "no row carries an end user"])
    revenue = [v for v in pnl.column("revenue") if v is not None]
    cogs = sum((v for v in pnl.column("COGS (measured)")), Decimal(0))
    if revenue:
        total = sum(revenue, Decimal(0))
        margin = f"{float((total - cogs) / total) * 100:.1f}%" if total else "–"
        rows.append(
            [
                "inference revenue / gross margin",
                f"${total:,.2f} / {margin}",
                ", ".join(sorted(set(pnl.column("revenue from")) - {"–"})),
            ]
        )
    else:
        rows.append(["inference revenue", "not available", "give --revenue CSV or --plan"])
    by_feature = a.fold(cells, ("feature",))
    if by_feature:
        # the costliest in total (where the money goes), with its per-request cost beside it
        name, agg = max(by_feature.items(), key=lambda kv: kv[1].cost_nanos)
        total = sum(v.cost_nanos for v in by_feature.values())
        share = f" ({agg.cost_nanos / total * 100:.0f}% of spend)" if total else ""
        per = Column("", "usd", 6).format(usd(agg.cost_nanos // max(agg.requests, 1)))
        rows.append(
            [
                "costliest feature, in total",
                f"{name or '(none)'}: {money(usd(agg.cost_nanos))}{share}, {per}/request",
                "ledger",
            ]
        )
    hits = sum(c.saving_nanos for c in cells)
    spend = sum(c.cost_nanos for c in cells)
    if hits + spend:
        rows.append(
            [
                "cache: share of cost avoided",
                f"{hits / (hits + spend) * 100:.1f}%",
                "ledger saving_nanos",
            ]
        )
    if fleet is not None and fleet.rows:
        text = ", ".join(f"{r[0]} {Column('', 'pct').format(r[5])}" for r in fleet.rows)
        rows.append(["fleet utilisation", text, "fleet reconciliation"])
    return Table(
        "scorecard",
        "Scorecard: the signals to watch",
        [Column("signal"), Column("value"), Column("source")],
        rows,
    )


def build_ledger_report(
    reader: q.Reader,
    period: q.Period | None = None,
    inputs: ReportInputs | None = None,
    plan: Scenario | None = None,
    revenue: Mapping[str, Decimal] | None = None,
    top: int = 10,
    drawer: Executor | None = None,
) -> LedgerReport:
    """The report's sections. With `drawer` (one thread), each chart is drawn there as soon
    as its table is known, while the queries after it run: DuckDB releases the GIL while it
    executes, so drawing and querying overlap instead of adding up."""
    inputs = inputs or ReportInputs()

    def chart(stem: str, draw: Callable[[], bytes]) -> tuple[str, Callable[[], bytes]]:
        return (stem, drawer.submit(draw).result) if drawer is not None else (stem, draw)

    period = period or q.Period()
    cells = q.cube(reader, period)
    first, last = a.day_span(cells)
    start = period.since or first
    end = period.until or last
    days = (date.fromisoformat(end) - date.fromisoformat(start)).days + 1 if start and end else 0
    secs: list[Section] = []

    weekly = a.weekly_rates(cells)
    overview = Section("Overview", [a.summary(cells, start, end)])
    secs.append(overview)

    per_day = {d: a.spend_by(cells, d) for d in DIMENSIONS}
    totals = [a.spend_totals(cells, d) for d in DIMENSIONS]
    secs.append(
        Section(
            "Spend over time",
            [*totals, *per_day.values()],
            [chart("spend_over_time", lambda: charts.spend_chart(per_day))] if cells else [],
            "" if cells else "The ledger has no rows in this period.",
        )
    )
    secs.append(
        Section(
            "Unit cost per week",
            [weekly],
            [chart("rates_per_week", lambda: charts.rates_chart(weekly))] if weekly.rows else [],
        )
    )

    implied = a.implied_cards(cells)
    cards: dict[str, Card] = {**implied, **inputs.cards}
    mix = a.model_mix(cells)
    secs.append(
        Section(
            "Model mix and savings",
            [mix, f.cache_savings(cells), a.routing_savings(cells, cards)],
            [chart("model_mix", lambda: charts.mix_chart(mix))] if mix.rows else [],
        )
    )
    outcomes = q.outcomes(reader, period)
    detail = Table(
        "failures",
        "What went wrong: failed and rejected rows",
        [
            Column("status"),
            Column("HTTP", "int"),
            Column("error"),
            Column("rows", "int"),
            Column("cost", "usd", 4),
        ],
        [[o.status, o.http_status, o.reason, o.requests, usd(o.cost_nanos)] for o in outcomes],
    )
    secs.append(Section("Errors and rejections", [a.status_table(cells), detail]))

    spent = sum(c.cost_nanos for c in cells)
    users = q.end_users(reader, period, top)
    spenders = [
        f.spender_table("end_user", users.top, spent),
        f.spender_table("key_id", q.top_spenders(reader, "key_id", period, top), spent),
    ]
    by_feature = a.fold(cells, ("feature",))  # the cube has it: no third scan
    ranked = sorted(by_feature.items(), key=lambda kv: (-kv[1].cost_nanos, str(kv[0])))[:top]
    spenders.append(
        f.spender_table(
            "feature", [q.Spender(k, v.requests, v.tokens, v.cost_nanos) for k, v in ranked], spent
        )
    )
    secs.append(
        Section("Top spenders", [*spenders, f.costliest_table(q.costliest(reader, period, top))])
    )

    if inputs.budgets_usd and end:
        month = q.Period(end[:8] + "01", end, period.tenant)
        daily = q.daily_spend(reader, month)
        burn = f.burn_down(daily, inputs.budgets_usd, end)
        secs.append(
            Section(
                "Budgets",
                [burn],
                [chart("budget_burn_down", lambda: charts.burn_down_chart(daily, burn, end))],
            )
        )
    elif end:  # say why there is no burn-down, rather than leave the section out silently
        secs.append(
            Section(
                "Budgets",
                text="No budgets known: the ledger does not hold them, and no tenant of the "
                "gateway config (--config gateway.yaml), if one was given, sets "
                "budget_usd_per_month. With budgets, each tenant's burn-down shows here.",
            )
        )

    bands = _plan_bands(plan, days) if plan is not None and plan.features and days else None
    pnl = f.feature_pnl(cells, revenue, bands)
    pnl_charts = [chart("feature_pnl", lambda: charts.pnl_chart(pnl))] if (revenue or bands) else []
    secs.append(
        Section(
            "Per-feature P&L",
            [pnl],
            pnl_charts,
            ""
            if (revenue or bands)
            else "No revenue given: pass --revenue "
            "revenue.csv (feature,revenue_usd) or --plan pnl.yaml.",
        )
    )

    fleet: Table | None = None
    if inputs.fleets:
        fleet = f.fleet_reconciliation(cells, inputs.fleets, days * 24.0)
        secs.append(
            Section(
                "Fleet reconciliation", [fleet], [chart("fleet", lambda: charts.fleet_chart(fleet))]
            )
        )

    targets = [cards[k] for k in sorted(cards)] + list(inputs.extra_cards)
    secs.append(Section("Re-pricing", [f.repricing(cells, targets)]))
    overview.tables.append(_scorecard(weekly, cells, users.distinct, pnl, fleet))
    return LedgerReport(
        f"unitcost report: {start or '–'} to {end or '–'}", reader.url, start, end, secs
    )


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1150px;color:#222;padding:0 1rem}
table{border-collapse:collapse;margin:1rem 0;font-size:.85rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem}
td.r{text-align:right;font-variant-numeric:tabular-nums}td.l{text-align:left}
caption{text-align:left;font-weight:600;margin-bottom:.3rem;white-space:nowrap}
img{max-width:100%}.note{color:#555;font-size:.8rem;max-width:60rem}
nav a{margin-right:1rem}
"""


def report_html(report: LedgerReport, pngs: Mapping[str, bytes], row_limit: int = 40) -> str:
    nav = "".join(f"<a href='#s{i}'>{escape(s.heading)}</a>" for i, s in enumerate(report.sections))
    parts = []
    for i, s in enumerate(report.sections):
        body = "".join(
            f"<img alt='{escape(stem)}' src='{png_data_uri(pngs[stem])}'>" for stem, _ in s.charts
        )
        body += f"<p class='note'>{escape(s.text)}</p>" if s.text else ""
        body += "".join(html_table(t, row_limit) for t in s.tables)
        parts.append(f"<h2 id='s{i}'>{escape(s.heading)}</h2>{body}")
    made = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(report.title)}"
        f"</title><style>{_STYLE}</style></head><body><h1>{escape(report.title)}</h1>"
        f"<p class='note'>ledger {escape(report.ledger)}; made {made}. Money from integer "
        "nano-dollar cost lines; every table is also a CSV beside this file.</p>"
        f"<nav>{nav}</nav>{''.join(parts)}</body></html>"
    )


def write_ledger_report(
    ledger_url: str,
    out_dir: Path,
    config: SettingsLike | ReportInputs | None = None,
    *,
    since: str | None = None,
    until: str | None = None,
    plan: Scenario | None = None,
    revenue: Mapping[str, Decimal] | None = None,
    extra_cards: Sequence[Card] = (),
    say: Callable[[str], None] | None = None,
) -> Path:
    """Write index.html, a PNG per chart and a CSV per table into `out_dir`; returns the
    HTML's path. `config` is the gateway's settings (budgets, price cards, fleets). A SQLite
    or PostgreSQL ledger is read through its columnar copy (`report.columnar`), synced
    first; `say` gets the one line about building it or falling back (default: stderr)."""
    if config is None or isinstance(config, ReportInputs):
        inputs = config or ReportInputs()
    else:
        inputs = inputs_from_settings(config)
    for card in extra_cards:
        inputs = inputs.with_card(card)
    # one drawing thread: matplotlib's state is not for concurrent use, and one is enough to
    # hide the charts behind the queries
    with ThreadPoolExecutor(1, thread_name_prefix="report-charts") as drawer:
        reader = open_report_reader(ledger_url, say) if say else open_report_reader(ledger_url)
        try:
            period = q.Period(since, until)
            report = build_ledger_report(reader, period, inputs, plan, revenue, drawer=drawer)
        finally:
            reader.close()
        out_dir.mkdir(parents=True, exist_ok=True)
        for t in report.tables():
            write_csv(t, out_dir / f"{t.key}.csv")
        pngs = {stem: draw() for s in report.sections for stem, draw in s.charts}
    for stem, png in pngs.items():
        (out_dir / f"{stem}.png").write_bytes(png)
    html = out_dir / "index.html"
    html.write_text(report_html(report, pngs), encoding="utf-8")
    return html
