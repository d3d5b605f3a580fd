"""The cost–quality plane as a PNG, and the whole report as one self-contained HTML file.

    png = frontier_png(report)               # one panel per task
    html = html_report(report, png)          # tables + the PNG inlined; no external assets

Each variant is a point at its cost per task and quality with both 95% intervals as error
bars; frontier points are filled and joined, dominated ones hollow. A route is drawn with
the dashed line between its two members: the random mixes it must beat. Points are marked
with their letter (the legend names them), so labels stay short and apart.
"""

from __future__ import annotations

import math
from typing import Any

from matplotlib.ticker import FuncFormatter, NullFormatter, PercentFormatter

from unitcost.evals.report import Report, TaskReport, exact_usd, usd
from unitcost.report.charts import png_bytes, png_data_uri
from unitcost.report.html import Section, page, table

__all__ = ["frontier_figure", "frontier_png", "html_report"]

_COLOURS = [
    "#4c72b0",
    "#dd8452",
    "#55a868",
    "#c44e52",
    "#8172b3",
    "#937860",
    "#da8bc3",
    "#8c8c8c",
    "#ccb974",
    "#64b5cd",
]


def _panel(ax: Any, t: TaskReport) -> None:
    r = t.result
    pts = [p for p in t.frontier if math.isfinite(p.cost.point) and math.isfinite(p.quality.point)]
    costs = [p.cost.point for p in pts]
    log_x = bool(costs) and min(costs) > 0 and max(costs) / min(costs) > 20
    for k, p in enumerate(pts):
        colour = _COLOURS[k % len(_COLOURS)]
        xerr = [[max(0.0, p.cost.point - p.cost.low)], [max(0.0, p.cost.high - p.cost.point)]]
        yerr = [
            [max(0.0, p.quality.point - p.quality.low)],
            [max(0.0, p.quality.high - p.quality.point)],
        ]
        if not (math.isfinite(p.cost.low) and math.isfinite(p.quality.low)):
            xerr = yerr = None  # type: ignore[assignment]
        ax.errorbar(
            p.cost.point,
            p.quality.point,
            xerr=xerr,
            yerr=yerr,
            fmt="o",
            ms=8,
            capsize=3,
            color=colour,
            mfc=colour if p.on_frontier else "white",
            mew=1.6,
            label=f"{t.letters[p.variant]}  {p.variant}",
        )
    on = sorted((p for p in pts if p.on_frontier), key=lambda p: p.cost.point)
    if len(on) > 1:
        ax.plot(
            [p.cost.point for p in on],
            [p.quality.point for p in on],
            "-",
            color="#444",
            lw=1,
            alpha=0.6,
            label="frontier",
        )
    by_variant = {p.variant: p for p in pts}
    for _, (w, s, _) in t.mixes.items():
        if w in by_variant and s in by_variant:
            a, b = by_variant[w], by_variant[s]
            # mixing is linear in dollars: on a log axis the mixes form a curve, not a chord
            share = [k / 60 for k in range(61)]
            ax.plot(
                [(1 - u) * a.cost.point + u * b.cost.point for u in share],
                [(1 - u) * a.quality.point + u * b.quality.point for u in share],
                "--",
                color="#999",
                lw=1,
                label=f"random mixes of {t.letters[w]} and {t.letters[s]}",
            )
    if log_x:
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.xaxis.set_major_formatter(FuncFormatter(_dollars))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    _label_points(ax, t, pts)
    ax.set_xlabel("$ per task" + (" (log scale)" if log_x else ""))
    ax.set_ylabel("quality (mean score, %)")
    ax.set_title(f"{r.task}: quality vs cost, {r.level:.0%} intervals", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right", framealpha=0.9)


#: where a point's letter may go, in points from the marker: right-up first, then around it
_OFFSETS = [(7, 6), (7, -14), (-15, 6), (-15, -14), (7, 20), (-15, 20), (7, -28), (-15, -28)]


def _label_points(ax: Any, t: TaskReport, pts: list[Any]) -> None:
    """Each point's letter beside it, moved around the marker until no two letters touch."""
    ax.autoscale_view()
    to_px = ax.transData.transform
    per_point = ax.figure.dpi / 72
    placed: list[tuple[float, float]] = []
    for k, p in enumerate(pts):
        x, y = to_px((p.cost.point, p.quality.point))
        for dx, dy in _OFFSETS:
            cx, cy = x + dx * per_point, y + dy * per_point
            if all(
                abs(cx - px) > 14 * per_point or abs(cy - py) > 12 * per_point for px, py in placed
            ):
                break
        placed.append((cx, cy))
        ax.annotate(
            t.letters[p.variant],
            (p.cost.point, p.quality.point),
            xytext=(dx, dy),
            textcoords="offset points",
            fontsize=9,
            weight="bold",
            color=_COLOURS[k % len(_COLOURS)],
        )


def _dollars(value: float, _pos: int) -> str:
    """Axis ticks in plain dollars: $0.001, $0.05, $12 (never 1e-3)."""
    if value <= 0:
        return "$0"
    decimals = max(0, -math.floor(math.log10(value)))
    return f"${value:,.{decimals}f}"


def frontier_figure(report: Report) -> Any:
    import matplotlib.pyplot as plt

    n = max(1, len(report.tasks))
    fig, axes = plt.subplots(1, n, figsize=(6.4 * n, 4.8), squeeze=False)
    for ax, t in zip(axes[0], report.tasks, strict=False):
        _panel(ax, t)
    fig.tight_layout()
    return fig


def frontier_png(report: Report) -> bytes:
    return png_bytes(frontier_figure(report))


def _pct(v: float) -> str:
    return "n/a" if not math.isfinite(v) else f"{v:.1%}"


def _m(v: float) -> str:
    return "n/a" if not math.isfinite(v) else f"${v:,.6f}"


def html_report(report: Report, png: bytes | None = None) -> str:
    sections: list[Section] = []
    if png is not None:
        sections.append(
            ("cost–quality frontier", f'<img alt="frontier" src="{png_data_uri(png)}">')
        )
    for t in report.tasks:
        r = t.result
        front = {p.variant: p for p in t.frontier}
        rows = [
            [
                f"{t.letters[v.variant]} {v.variant}",
                v.n,
                _pct(v.quality.point),
                f"{_pct(v.quality.low)}–{_pct(v.quality.high)}",
                _m(v.cost_per_task.point),
                f"{_m(v.cost_per_task.low)}–{_m(v.cost_per_task.high)}",
                _m(v.cost_per_correct.point),
                f"{v.latency_s(50):.2f}",
                f"{v.latency_s(95):.2f}",
                f"{v.tokens.get('prompt', 0):,}",
                f"{v.tokens.get('completion', 0):,}",
                f"{v.tokens.get('reasoning', 0):,}",
                v.errors,
                v.skipped,
                "yes"
                if front[v.variant].on_frontier
                else "dominated by " + ", ".join(front[v.variant].dominated_by),
            ]
            for v in r.variants.values()
        ]
        body = table(
            f"{r.task}: metric {r.metric}, {r.level:.0%} intervals",
            [
                "variant",
                "n",
                "quality",
                "CI",
                "$/task",
                "CI",
                "$/correct",
                "p50 s",
                "p95 s",
                "prompt tok",
                "output tok",
                "reasoning",
                "errors",
                "skipped",
                "frontier",
            ],
            rows,
        )
        pairs = [
            [
                f"{c.a} − {c.b}",
                c.n,
                f"{c.quality_diff.point:+.1%}",
                f"{c.quality_diff.low:+.1%} to {c.quality_diff.high:+.1%}",
                "n/a" if c.mcnemar is None else f"{c.mcnemar.p_value:.4f}",
                f"{c.cost_diff.point:+.6f}",
                f"{c.cost_diff.low:+.6f} to {c.cost_diff.high:+.6f}",
            ]
            for c in r.comparisons
        ]
        body += table(
            "paired comparisons (same items)",
            ["a − b", "n", "Δquality", "CI", "McNemar p", "Δ$/task", "CI"],
            pairs,
        )
        for name, (_, _, m) in t.mixes.items():
            body += f"<p>{name} {m.verdict}.</p>"
        sections.append((r.task, body))
    if report.gates:
        sections.append(
            (
                "gates",
                table(
                    "CI gates",
                    ["status", "gate", "task", "result"],
                    [[o.status, o.gate.text, o.task, o.message] for o in report.gates],
                ),
            )
        )
    run = report.run
    prices = [
        [n, f"{r.input_usd_per_m:g}", f"{r.output_usd_per_m:g}", r.origin]
        for n, r in sorted(run.rates.items())
    ]
    sections.append(
        (
            "what each model was priced at",
            table(
                "price cards served by the gateway ($ per 1M tokens)",
                ["model", "input", "output", "origin"],
                prices,
            ),
        )
    )
    note = (
        f"spent in this run {usd(run.spent_nanos)} (exact: ${exact_usd(run.spent_nanos)}), "
        f"{run.fresh} calls, {run.cached} answers reused; ledger {run.ledger_url or '(none)'}"
    )
    return page("unitcost eval", sections, note)
