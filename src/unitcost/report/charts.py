"""Charts as PNG, drawn with matplotlib's non-interactive backend."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np

from unitcost.economics.scenario import MonteCarlo, TornadoBar

__all__ = ["png_bytes", "png_data_uri", "scenario_figure"]


def _pyplot() -> Any:
    """pyplot on the non-interactive backend, imported when a chart is drawn: it costs ~1 s,
    which `unitcost report` spends in its drawing thread, behind the queries."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def scenario_figure(mc: MonteCarlo, output: str, base: float, bars: list[TornadoBar]) -> Any:
    """Left: the distribution of `output` with P5/P50/P95; right: the tornado of its inputs,
    each bar split at the base value (low end of the input in one colour, high in another),
    named as the tornado table names them."""
    from unitcost.report.tables import number, short_inputs

    fig, (dist, torn) = _pyplot().subplots(1, 2, figsize=(13, 4.8))
    draws = mc.outputs[output]
    draws = draws[np.isfinite(draws)]
    dist.hist(draws, bins=60, color="#4c72b0", alpha=0.85)
    top = dist.get_ylim()[1]
    for i, (q, style) in enumerate(((5, ":"), (50, "-"), (95, ":"))):
        v = float(np.percentile(draws, q))
        dist.axvline(v, color="black", linestyle=style, linewidth=1)
        # three heights, so the labels never sit on one another however close the lines are
        dist.annotate(
            f"P{q} {number(v)}",
            (v, top * (0.97 - 0.08 * i)),
            fontsize=8,
            ha="left",
            va="top",
            xytext=(3, 0),
            textcoords="offset points",
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
        )
    dist.set_ylim(0, top * 1.05)
    dist.set_title(f"{output}: {mc.samples:,} draws")
    dist.set_xlabel(output)
    dist.set_ylabel("draws")
    shown = bars[:12][::-1]
    names = short_inputs([b.input for b in bars])[:12][::-1]
    for i, b in enumerate(shown):
        torn.barh(
            i,
            b.output_at_low - base,
            left=base,
            color="#4c72b0",
            label="input at its low end" if i == 0 else None,
        )
        torn.barh(
            i,
            b.output_at_high - base,
            left=base,
            color="#dd8452",
            label="input at its high end" if i == 0 else None,
        )
    torn.axvline(base, color="black", linewidth=1)
    torn.set_yticks(np.arange(len(shown)), names, fontsize=8)
    torn.set_title(f"sensitivity of {output} (base {number(base)})")
    torn.set_xlabel(output)
    torn.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def png_bytes(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    if fig.canvas.manager is not None:  # made by pyplot: drop it from pyplot's registry
        _pyplot().close(fig)
    return buf.getvalue()


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()
