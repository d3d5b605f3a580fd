"""Bench results for machines (JSON, CSV) and people (rich table, PNG, HTML)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from rich.console import RenderableType

from unitcost.bench.metrics import SLO, LevelStats
from unitcost.report.html import page, table

__all__ = ["results_table", "write_outputs"]


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v * 1000:.1f}"


def _usd(v: Any) -> str:
    return "-" if v is None else f"${v:.4g}"


def results_table(
    levels: list[LevelStats], slo: SLO, chosen: str | None, wide: bool = False
) -> RenderableType:
    """Per load level, fitted to 80 columns (abbreviated headers with a legend; $/1K at one
    precision per column; `*` marks token counts from the tokenizer)."""
    from unitcost.report.tables import fit_table, usd_column

    # money and the SLO verdict first: what does not fit moves behind --wide
    header: list[tuple[str, str | None]] = [
        ("level", None),
        ("requests", "req"),
        ("errors", "err"),
        ("TTFT p50/p95 ms", "TTFT ms"),
        ("output tok/s", "tok/s"),
        ("$/1K input", "$/1K in"),
        ("$/1K output", "$/1K out"),
        ("meets SLO", "SLO"),
        ("ITL p50/p95 ms", "ITL ms"),
        ("e2e p95 ms", "e2e ms"),
        ("req/s", None),
        ("goodput/s", "good/s"),
        ("roofline efficiency", "eff"),
    ]
    nan = float("nan")

    def cost(s: LevelStats, key: str) -> float:
        v = s.costs.get(key)
        return nan if v is None else float(v)

    per_in = [cost(s, "usd_per_1k_input") for s in levels]
    per_out = [cost(s, "usd_per_1k_output") for s in levels]
    # where $/1K is tiny (self-hosted tokens), $/1M reads better: fewer zeros, same figure
    finite = [v for v in per_in + per_out if v == v]
    scale, unit = (1000.0, "1M") if finite and max(finite) < 0.01 else (1.0, "1K")
    ins = usd_column([v * scale for v in per_in])
    outs = usd_column([v * scale for v in per_out])
    header[5] = (f"$/{unit} input", f"$/{unit} in")
    header[6] = (f"$/{unit} output", f"$/{unit} out")
    rows = []
    for i, s in enumerate(levels):
        eff = s.costs.get("roofline", {}) or {}
        mark = ("yes" if s.meets(slo) else "no") if slo else "–"
        rows.append(
            [
                s.label + (" ← cheapest" if s.label == chosen else ""),
                str(s.requests),
                str(s.errors),
                f"{_ms(s.ttft.p50)}/{_ms(s.ttft.p95)}",
                f"{s.output_tokens_per_s:.1f}" + ("*" if s.tokens_estimated else ""),
                "–" if ins[i] == "n/a" else ins[i],
                "–" if outs[i] == "n/a" else outs[i],
                mark,
                f"{_ms(s.itl.p50)}/{_ms(s.itl.p95)}",
                _ms(s.e2e.p95),
                f"{s.rps:.2f}",
                f"{s.goodput_rps:.2f}",
                f"{eff['efficiency']:.2f}" if eff.get("efficiency") else "–",
            ]
        )
    title = "bench: per load level" + (f" (SLO {_slo_text(slo)})" if slo else "")
    return fit_table(title, header, rows, wide=wide)


def _slo_text(slo: SLO) -> str:
    return ", ".join(f"{k}≤{v * 1000:g}ms" for k, v in slo.items())


def write_outputs(
    out_dir: Path, meta: dict[str, Any], levels: list[LevelStats], slo: SLO, chosen: str | None
) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    data = {
        **meta,
        "slo_s": slo,
        "cheapest_meeting_slo": chosen,
        "levels": [s.to_dict() for s in levels],
    }
    paths = [out_dir / "bench.json", out_dir / "bench.csv"]
    paths[0].write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    with paths[1].open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        header = [
            "level",
            "concurrency",
            "rate",
            "requests",
            "errors",
            "duration_s",
            "input_tokens",
            "output_tokens",
            "tokens_estimated",
            "rps",
            "goodput_rps",
            "output_tokens_per_s",
            "total_tokens_per_s",
        ]
        header += [
            f"{m}_{p}_s"
            for m in ("ttft", "itl", "tpot", "e2e")
            for p in ("p50", "p90", "p95", "p99", "mean")
        ]
        header += [
            "usd_per_1k_input",
            "usd_per_1k_output",
            "usd_per_1k_tokens",
            "roofline_efficiency",
            "joules_per_1k_tokens",
            "meets_slo",
        ]
        writer.writerow(header)
        for s in levels:
            eff = (s.costs.get("roofline") or {}).get("efficiency")
            writer.writerow(
                [
                    s.label,
                    s.concurrency,
                    s.rate,
                    s.requests,
                    s.errors,
                    f"{s.duration_s:.4f}",
                    s.input_tokens,
                    s.output_tokens,
                    s.tokens_estimated,
                    f"{s.rps:.4f}",
                    f"{s.goodput_rps:.4f}",
                    f"{s.output_tokens_per_s:.4f}",
                    f"{s.total_tokens_per_s:.4f}",
                    *(
                        getattr(getattr(s, m), p)
                        for m in ("ttft", "itl", "tpot", "e2e")
                        for p in ("p50", "p90", "p95", "p99", "mean")
                    ),
                    s.costs.get("usd_per_1k_input"),
                    s.costs.get("usd_per_1k_output"),
                    s.costs.get("usd_per_1k_tokens"),
                    eff,
                    (s.energy or {}).get("joules_per_1k_tokens"),
                    s.meets(slo) if slo else None,
                ]
            )
    if len(levels) >= 1:
        png = _plot(levels, slo)
        (out_dir / "bench.png").write_bytes(png)
        (out_dir / "bench.html").write_text(_html(meta, levels, slo, chosen, png), "utf-8")
        paths += [out_dir / "bench.png", out_dir / "bench.html"]
    return paths


def _plot(levels: list[LevelStats], slo: SLO) -> bytes:
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from unitcost.report.charts import png_bytes
    from unitcost.report.tables import number

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    x = [s.output_tokens_per_s for s in levels]
    for key, style in (("ttft_p95", "o-"), ("itl_p95", "s-"), ("e2e_p95", "^-")):
        y = [(s.value(key) or 0) * 1000 for s in levels]
        left.plot(x, y, style, label=key)
        if key in slo:
            left.axhline(
                slo[key] * 1000, linestyle=":", color=left.lines[-1].get_color(), label=f"SLO {key}"
            )
    for s, xi in zip(levels, x, strict=True):
        left.annotate(s.label, (xi, (s.ttft.p95 or 0) * 1000), fontsize=7)
    left.set(
        xlabel="output tokens/s", ylabel="latency ms", title="throughput vs latency", yscale="log"
    )
    # plain numbers on both axes: matplotlib would write 10⁻² ms and a "1e−6" offset
    left.yaxis.set_major_formatter(FuncFormatter(lambda v, _: number(v, 3)))
    left.legend(fontsize=7)
    labels = [s.label for s in levels]
    # per 1M tokens, as the table shows it: per 1K is a millionth of a dollar on fast servers
    costs = [(s.costs.get("usd_per_1k_output") or 0) * 1000 for s in levels]
    colours = ["#4c9f70" if (not slo or s.meets(slo)) else "#c44e52" for s in levels]
    right.bar(labels, costs, color=colours)
    right.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"${number(v, 3)}"))
    right.set(
        ylabel="$ per 1M output tokens",
        title="$/1M output tokens by load" + (" (green: meets SLO)" if slo else ""),
    )
    right.tick_params(axis="x", rotation=45, labelsize=7)
    fig.tight_layout()
    return png_bytes(fig)


def _html(
    meta: dict[str, Any], levels: list[LevelStats], slo: SLO, chosen: str | None, png: bytes
) -> str:
    from unitcost.report.charts import png_data_uri

    rows = [
        [
            s.label,
            s.requests,
            s.errors,
            _ms(s.ttft.p95),
            _ms(s.itl.p95),
            _ms(s.e2e.p95),
            f"{s.output_tokens_per_s:.1f}",
            _usd(s.costs.get("usd_per_1k_input")),
            _usd(s.costs.get("usd_per_1k_output")),
            "yes" if s.meets(slo) else "no",
        ]
        for s in levels
    ]
    return page(
        f"unitcost bench: {meta.get('model')} at {meta.get('url')}",
        [
            ("Charts", f'<img alt="charts" src="{png_data_uri(png)}">'),
            (
                "Levels",
                table(
                    f"cheapest level meeting the SLO: {chosen or 'none'}",
                    [
                        "level",
                        "requests",
                        "errors",
                        "TTFT p95 ms",
                        "ITL p95 ms",
                        "e2e p95 ms",
                        "output tok/s",
                        "$/1K in",
                        "$/1K out",
                        "meets SLO",
                    ],
                    rows,
                ),
            ),
        ],
        note=f"priced by: {meta.get('priced_by', 'not priced')}",
    )
