"""Quality against the share of calls sent to the strong model: random, oracle, learned."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from unitcost.report.charts import png_bytes
from unitcost.routing.evaluate import RouteEval

__all__ = ["write_route_plot"]


def write_route_plot(result: RouteEval, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    styles = {
        "random": ("grey", ":"),
        "length": ("#dd8452", "-."),
        "oracle": ("#4c9f70", "--"),
        "learned": ("#4c72b0", "-"),
    }
    for name, curve in result.curves.items():
        colour, line = styles.get(name, ("black", "-"))
        value = result.metrics[name]["APGR"]
        ax.plot(
            curve.strong_pct,
            curve.accuracy,
            line,
            color=colour,
            marker=".",
            label=f"{name} (APGR {value:.3f})",
        )
    ax.axhline(result.weak_acc, color="#c44e52", linewidth=0.8, label=f"weak: {result.weak}")
    ax.axhline(result.strong_acc, color="black", linewidth=0.8, label=f"strong: {result.strong}")
    ax.axhline(
        0.95 * result.strong_acc, color="black", linestyle=":", linewidth=0.8, label="95% of strong"
    )
    ax.set(
        xlabel="calls to the strong model (%)",
        ylabel="accuracy (%)" if result.unit == "%" else "mean score (points)",
        title=f"{result.dataset}: {result.n_test} held-out prompts",
    )
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.write_bytes(png_bytes(fig))
    return path
