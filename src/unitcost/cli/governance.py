"""`unitcost governance`: the control map of a running configuration, as markdown and HTML.

    unitcost governance --config gateway.yaml --out governance
    unitcost governance --config gateway.yaml --require guard.pii.redact_records,budgets

`--require` makes it policy as code for CI: exit 1 when a required control is off.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from unitcost.cli._console import app, check_number, say

__all__ = ["governance"]


@app.command()
def governance(
    config: Annotated[Path, typer.Option(help="gateway YAML settings")],
    out: Annotated[Path, typer.Option(help="writes OUT.md and OUT.html")] = Path("governance"),
    measurements: Annotated[
        Path, typer.Option(help="the JSON `python bench/guard.py` writes")
    ] = Path("bench/out/guard.json"),
    max_age_days: Annotated[float, typer.Option(help="older measurements are flagged")] = 30.0,
    require: Annotated[
        str, typer.Option(help="comma-separated control ids that must be on, else exit 1")
    ] = "",
) -> None:
    """Map the configuration's controls to OWASP LLM Top 10, NIST AI RMF and NCSC/CISA."""
    from unitcost.gateway.settings import load_settings
    from unitcost.report.governance import governance_report, load_measurements

    check_number("--max-age-days", max_age_days, low=0.0)
    settings = load_settings(config)
    report = governance_report(
        settings, load_measurements(measurements, max_age_days), config=str(config)
    )
    missing = report.missing(require.split(",")) if require else []
    md, html = out.with_suffix(".md"), out.with_suffix(".html")
    md.parent.mkdir(parents=True, exist_ok=True)
    md.write_text(report.markdown(), encoding="utf-8")
    html.write_text(report.html(), encoding="utf-8")
    on = sum(r.reading.on for r in report.rows.values())
    width = max(len(c) for c in report.rows)
    for cid, row in report.rows.items():
        # the setting wraps under its own column: cut short, it said the opposite at times
        line = f"{cid:<{width}}  {'on ' if row.reading.on else 'OFF'}  {row.reading.setting}"
        say(line, hang=width + 7)
    say(f"{on} of {len(report.rows)} controls on; wrote {md} and {html}")
    if report.measurements.note:
        say(f"measurements {report.measurements.note}")
    if missing:
        say(f"required controls off: {', '.join(missing)}", stderr=True)
        sys.exit(1)
