"""`unitcost report | export`: what the ledger says, for people (HTML, PNG, CSV) and for
FinOps tools (FOCUS rows as CSV or Parquet; raw rows as Parquet)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from unitcost.cli._console import app, say, show
from unitcost.errors import InputError

__all__: list[str] = []


def _ledger_url(ledger: str | None, config: Path | None) -> tuple[str, Any]:
    settings = None
    if config is not None:
        from unitcost.gateway.settings import load_settings

        settings = load_settings(config)
    if ledger is None:
        if settings is None:
            raise InputError("--ledger: give --ledger URL or --config gateway.yaml")
        ledger = settings.ledger.url
    return ledger, settings


def _pairs(flag: str, items: list[str]) -> dict[str, int]:
    pairs: dict[str, int] = {}
    for item in items:
        name, _, value = item.partition("=")
        if not name or not value.isdigit() or int(value) == 0:
            raise InputError(f"{flag}: {item!r} is not DEPLOYMENT=N with N ≥ 1 (e.g. llama-8b=4)")
        pairs[name] = int(value)
    return pairs


@app.command()
def report(
    ledger: Annotated[
        str | None, typer.Option(help="sqlite:///PATH, postgresql://... or parquet:///PATH")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="gateway YAML: ledger, budgets, price cards, fleets")
    ] = None,
    since: Annotated[str | None, typer.Option(help="first day, YYYY-MM-DD (UTC)")] = None,
    until: Annotated[str | None, typer.Option(help="last day, YYYY-MM-DD (UTC)")] = None,
    plan: Annotated[
        Path | None, typer.Option(help="scenario YAML with features (the P&L plan)")
    ] = None,
    revenue: Annotated[Path | None, typer.Option(help="CSV: feature,revenue_usd")] = None,
    replicas: Annotated[
        list[str] | None, typer.Option(help="DEPLOYMENT=N replicas of a self-hosted fleet")
    ] = None,
    reprice_on: Annotated[
        list[str] | None,
        typer.Option(help="catalog hardware to re-price on: ACCELERATOR:MODEL[:PRECISION]"),
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="folder for index.html, PNG, CSV")] = Path(
        "unitcost-report"
    ),
    wide: Annotated[bool, typer.Option("--wide", help="print every column, past 80")] = False,
) -> None:
    """Write the ledger report: spend, unit cost, savings, budgets, P&L, fleet, re-pricing."""
    from unitcost.economics.spec import load_scenario
    from unitcost.ledger.queries import Period
    from unitcost.report.inputs import (
        ReportInputs,
        catalog_card,
        inputs_from_settings,
        load_revenue_csv,
    )
    from unitcost.report.ledger_report import write_ledger_report
    from unitcost.report.tables import fit_table

    Period(since, until)  # bad dates and counts fail before any work
    fleet = _pairs("--replicas", replicas or [])
    url, settings = _ledger_url(ledger, config)
    inputs = inputs_from_settings(settings, fleet) if settings is not None else ReportInputs()
    for spec in reprice_on or []:
        parts = spec.split(":")
        if len(parts) not in (2, 3) or not all(parts):
            raise InputError(
                f"--reprice-on: {spec!r}; accepted: ACCELERATOR:MODEL[:PRECISION], "
                "e.g. H100-SXM:llama-3.1-70b:fp8"
            )
        precision = parts[2] if len(parts) == 3 else "bf16"
        try:
            card = catalog_card(parts[0], parts[1], precision)
        except InputError as exc:  # name the flag, not the card's internal path
            reason = exc.message.split(": ", 1)[-1]
            raise InputError(f"--reprice-on: {spec!r}: {reason}") from None
        inputs = inputs.with_card(card)
    spec_plan = load_scenario(plan) if plan is not None else None
    rev = load_revenue_csv(revenue) if revenue is not None else None
    path = write_ledger_report(
        url, out_dir, inputs, since=since, until=until, plan=spec_plan, revenue=rev
    )
    import csv

    with (out_dir / "scorecard.csv").open(encoding="utf-8") as f:
        rows = [r for r in csv.reader(f)][1:]
    header: list[tuple[str, str | None]] = [("signal", None), ("value", None), ("source", None)]
    show(fit_table("scorecard", header, rows, wide=wide, left=3), wide)
    print(f"report: {path}")  # plain print: a long path must not be folded
    say("  (charts as PNG and every table as CSV beside it)")


@app.command()
def export(
    out_file: Annotated[Path, typer.Option("--out", help="FILE.csv or FILE.parquet")],
    format: Annotated[str, typer.Option(help="focus (FinOps FOCUS 1.3 rows) or rows")] = "focus",
    ledger: Annotated[str | None, typer.Option(help="sqlite:///PATH or postgresql://...")] = None,
    config: Annotated[Path | None, typer.Option(help="gateway YAML (for its ledger)")] = None,
    since: Annotated[str | None, typer.Option(help="first day, YYYY-MM-DD (UTC)")] = None,
    until: Annotated[str | None, typer.Option(help="last day, YYYY-MM-DD (UTC)")] = None,
) -> None:
    """Export the ledger: FOCUS rows for FinOps tools, or the raw rows as Parquet."""
    from unitcost.ledger.queries import Period, open_reader
    from unitcost.report.focus import export_focus, export_rows

    if format not in ("focus", "rows"):
        raise InputError(f"--format: {format!r}; accepted: focus, rows")
    if out_file.suffix not in (".csv", ".parquet"):
        raise InputError(f"--out: {str(out_file)!r}; accepted: a .csv or .parquet file")
    period = Period(since, until)
    url, _ = _ledger_url(ledger, config)
    reader = open_reader(url)
    try:
        n = (export_focus if format == "focus" else export_rows)(reader, period, out_file)
    finally:
        reader.close()
    say(f"wrote {n:,} {'FOCUS' if format == 'focus' else 'ledger'} rows to {out_file}")
