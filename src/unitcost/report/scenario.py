"""The scenario report: distribution and tornado as PNG, and a self-contained HTML page."""

from __future__ import annotations

from pathlib import Path

from unitcost.economics.scenario import MonteCarlo, TornadoBar
from unitcost.economics.spec import Scenario
from unitcost.report.charts import png_bytes, png_data_uri, scenario_figure
from unitcost.report.html import page, table

__all__ = ["scenario_html", "write_scenario_report"]


def scenario_html(
    spec: Scenario, mc: MonteCarlo, output: str, base: float, bars: list[TornadoBar], png: bytes
) -> str:
    pct = mc.percentiles()
    rows = [[name, *(f"{p[k]:.6g}" for k in ("p5", "p50", "p95"))] for name, p in pct.items()]
    torn = [
        [
            b.input,
            f"{b.low:g} – {b.high:g}",
            f"{b.output_at_low:.6g}",
            f"{b.output_at_high:.6g}",
            f"{b.swing:.4g}",
        ]
        for b in bars
    ]
    return page(
        f"unitcost scenario: {spec.name}",
        [
            ("Distribution and sensitivity", f'<img alt="charts" src="{png_data_uri(png)}">'),
            (
                "Percentiles",
                table(
                    f"{mc.samples:,} draws, seed {mc.seed}", ["output", "P5", "P50", "P95"], rows
                ),
            ),
            (
                "Tornado",
                table(
                    f"{output} (base {base:.6g}), each input alone at its low and high",
                    ["input", "range", "at low", "at high", "swing"],
                    torn,
                ),
            ),
        ],
        note=spec.description,
    )


def write_scenario_report(
    spec: Scenario,
    mc: MonteCarlo,
    output: str,
    base: float,
    bars: list[TornadoBar],
    *,
    png: Path | None = None,
    html: Path | None = None,
) -> list[Path]:
    image = png_bytes(scenario_figure(mc, output, base, bars))
    written = []
    if png is not None:
        png.write_bytes(image)
        written.append(png)
    if html is not None:
        html.write_text(scenario_html(spec, mc, output, base, bars, image), encoding="utf-8")
        written.append(html)
    return written
