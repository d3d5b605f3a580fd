"""The calibration for people: every point, its source, the model's figure and the residual.

    out.print(calibration_view(calibrate(), baseline=previous_defaults_error()))

Tables fit 80 columns: sources are numbered and listed once below them.
"""

from __future__ import annotations

import statistics
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from unitcost.economics.calibration import Calibration
from unitcost.economics.efficiency import keyed_median

__all__ = ["KIND_TITLES", "calibration_dict", "calibration_view"]

KIND_TITLES = {
    "prefill": "prefill: first-token latency at batch 1 (ms)",
    "decode": "decode: batch-1 tokens/s of one sequence",
    "mbu": "decode: published bandwidth utilisation",
    "latency": "end-to-end latency of a batch (s)",
    "serving": "serving: output tokens/s at maximum load",
    "ratio": "cross-vendor: throughput of one system over another",
    "training": "training: GPU-hours of a pre-training run",
}


def _num(v: float) -> str:
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:#.3g}".rstrip(".")


def _summary(c: Calibration, baseline: float | None) -> list[str]:
    fit, held = c.errors(False), c.errors(True)
    f = c.fit
    lines = [
        f"held-out error: median {c.held_out_error:.1%} over {len(held)} points kept out of "
        f"the fit (max {max(held):.0%})",
        f"in-sample error: median {statistics.median(fit):.1%} over {len(fit)} fitted points",
    ]
    if baseline is not None:
        lines.append(
            f"previous defaults on the held-out points: median {baseline:.1%} (MFU 0.5, "
            "MBU 0.6, serial phases)"
        )
    lines.append(
        f"fitted: {f.collective_latency_s * 1e6:.1f} µs per TP/EP collective; chunked-prefill "
        f"overlap {f.overlap:.2f}"
    )
    return lines


def _keys_table(c: Calibration) -> Table:
    t = Table(
        title="efficiencies by (vendor, precision, stack)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
    )
    for name in ("key", "MFU", "MBU", "serving"):
        t.add_column(name, justify="left" if name == "key" else "right", no_wrap=name != "key")
    keys = sorted({k for k, _ in (*c.fit.mfu, *c.fit.mbu, *c.fit.serving)})
    for key in keys:
        cells = []
        for values in (c.fit.mfu, c.fit.mbu, c.fit.serving):
            value, origin = keyed_median(values, key, float("nan"))
            exact = origin.startswith(f"{key[0]} {key[1]} {key[2]},")
            cells.append(f"{value:.2f}" + ("" if exact else "*"))
        t.add_row(" ".join(key), *cells)
    return t


def calibration_view(c: Calibration, baseline: float | None = None) -> RenderableType:
    parts: list[RenderableType] = [Text(line) for line in _summary(c, baseline)]
    refs = {name: i + 1 for i, name in enumerate(c.sources)}
    for kind, title in KIND_TITLES.items():
        rows = [r for r in c.residuals if r.point.kind == kind]
        if not rows:
            continue
        t = Table(
            title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False
        )
        for name in ("set", "point", "measured", "model", "error", "src"):
            t.add_column(
                name, justify="left" if name in ("set", "point") else "right", no_wrap=True
            )
        for r in rows:
            t.add_row(
                "held" if r.point.held_out else "fit",
                r.point.name,
                _num(r.point.measured),
                _num(r.predicted),
                f"{r.error:+.1%}",
                str(refs[r.point.source]),
            )
        parts.append(t)
    parts.append(_keys_table(c))
    parts.append(
        Text(
            "* no point under this exact key; it falls back: vendor+stack → vendor+precision "
            "→ vendor → precision → all",
            style="dim",
        )
    )
    parts.append(Text("sources (notes per point: unitcost calibration --json):"))
    for name, i in refs.items():
        parts.append(Text(f"{i:>2} {' '.join(c.sources[name].split())}", overflow="fold"))
    return Group(*parts)


def calibration_dict(c: Calibration, baseline: float | None = None) -> dict[str, Any]:
    return {
        "held_out_error": c.held_out_error,
        "fit_error": c.fit_error,
        "previous_defaults_held_out_error": baseline,
        "collective_latency_s": c.fit.collective_latency_s,
        "prefill_overlap": c.fit.overlap,
        "points": [
            {
                "name": r.point.name,
                "kind": r.point.kind,
                "held_out": r.point.held_out,
                "measured": r.point.measured,
                "predicted": r.predicted,
                "error": r.error,
                "detail": r.detail,
                "note": r.point.note,
                "source": " ".join(c.sources[r.point.source].split()),
            }
            for r in c.residuals
        ],
    }
