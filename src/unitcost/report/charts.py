"""Charts as PNG, drawn with matplotlib's non-interactive backend."""

from __future__ import annotations

import base64
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from unitcost.economics.scenario import MonteCarlo, TornadoBar

__all__ = ["png_bytes", "png_data_uri", "scenario_figure"]


def scenario_figure(mc: MonteCarlo, output: str, base: float, bars: list[TornadoBar]) -> Any:
    """Left: the distribution of `output` with P5/P50/P95; right: the tornado of its inputs."""
    fig, (dist, torn) = plt.subplots(1, 2, figsize=(13, 4.8))
    draws = mc.outputs[output]
    draws = draws[np.isfinite(draws)]
    dist.hist(draws, bins=60, color="#4c72b0", alpha=0.85)
    for q, style in ((5, ":"), (50, "-"), (95, ":")):
        v = float(np.percentile(draws, q))
        dist.axvline(v, color="black", linestyle=style, linewidth=1)
        dist.annotate(
            f"P{q} {v:.4g}", (v, dist.get_ylim()[1] * 0.92), rotation=90, fontsize=8, ha="right"
        )
    dist.set_title(f"{output}: {mc.samples:,} draws")
    dist.set_xlabel(output)
    top = bars[:12][::-1]
    y = np.arange(len(top))
    for i, b in enumerate(top):
        lo, hi = sorted((b.output_at_low, b.output_at_high))
        torn.barh(i, hi - lo, left=lo, color="#dd8452")
    torn.axvline(base, color="black", linewidth=1)
    torn.set_yticks(y, [b.input.removeprefix("deployments.") for b in top], fontsize=8)
    torn.set_title(f"sensitivity of {output}")
    torn.set_xlabel(output)
    fig.tight_layout()
    return fig


def png_bytes(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()
