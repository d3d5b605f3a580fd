"""Rich tables for people: an estimate's breakdown, Monte-Carlo percentiles, a tornado."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from unitcost.economics.breakdown import as_float
from unitcost.economics.scenario import MonteCarlo, Result, TornadoBar

__all__ = [
    "WIDTH",
    "estimate_view",
    "fit_table",
    "money",
    "percentile_table",
    "tornado_table",
]

#: what every human table fits unless the user asks for --wide
WIDTH = 80


def fit_table(
    title: str,
    header: Sequence[tuple[str, str | None]],
    rows: Sequence[Sequence[str]],
    *,
    wide: bool = False,
    width: int = WIDTH,
    left: int = 1,
) -> RenderableType:
    """A table of already formatted cells that fits `width` columns: headers that do not
    fit are abbreviated (`header` pairs a name with its short form) and explained in a
    legend; columns that still do not fit move behind `--wide` and a note says which.
    The first `left` columns are left-aligned, the rest (numbers) right-aligned."""
    names = [h for h, _ in header]
    cells = [list(r) for r in rows]

    def build(heads: Sequence[str], k: int) -> Table:
        t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
        for i in range(k):
            t.add_column(
                heads[i],
                justify="left" if i < left else "right",
                no_wrap=i >= left,
                overflow="fold",
            )
        for r in cells:
            t.add_row(*r[:k])
        return t

    def need(heads: Sequence[str], k: int) -> int:
        # text columns (the first `left`) may fold to 16 characters, never inside a word;
        # each column costs its padding and a separator (3)
        total = 1
        for i in range(k):
            texts = [heads[i], *(r[i] for r in cells)]
            natural = max(len(x) for x in texts)
            if i < left:
                word = max(len(w) for x in texts for w in (x.split() or [""]))
                natural = max(word, min(natural, 16))
            total += natural + 3
        return total

    heads = list(names)
    legend: list[str] = []
    if not wide and need(heads, len(heads)) > width:
        for i, (name, short) in enumerate(header):
            if short and short != name:
                heads[i] = short
                legend.append(f"{short} = {name}")
    keep = len(heads)
    if not wide:
        while keep > 1 and need(heads, keep) > width:
            keep -= 1
    t = build(heads, keep)
    parts: list[RenderableType] = [t]
    used = [x for x in legend if x.split(" = ")[0] in heads[:keep]]
    if used:
        parts.append(Text("  " + "; ".join(used), style="dim"))
    if keep < len(heads):
        parts.append(
            Text(
                f"  {len(heads) - keep} more columns with --wide: " + ", ".join(names[keep:]),
                style="dim",
            )
        )
    return Group(*parts)


def money(value: float, digits: int = 4) -> str:
    if value != value:  # NaN
        return "n/a"
    return f"${value:,.{digits}g}" if abs(value) < 1000 else f"${value:,.0f}"


def estimate_view(result: Result) -> RenderableType:
    parts: list[RenderableType] = []
    w = result.workload
    head = Table(title=f"{result.scenario.name}: unit cost per deployment", title_justify="left")
    for col in (
        "deployment",
        "$/1K input",
        "$/1K output",
        f"$/request ({as_float(w.input_tokens):g} in, {as_float(w.output_tokens):g} out)",
        "Wh/1K output",
        "gCO2e/1K output",
        "priced by",
    ):
        head.add_column(col, overflow="fold")
    for name, d in result.deployments.items():
        uc = d.unit_cost
        head.add_row(
            name,
            money(as_float(uc.usd_per_1k_input)),
            money(as_float(uc.usd_per_1k_output)),
            money(as_float(uc.usd_per_request(w))),
            f"{as_float(uc.wh_per_1k_output):.3g}" if d.tco else "-",
            f"{as_float(uc.carbon_g_per_1k_output):.3g}" if d.tco else "-",
            d.kind,
        )
    parts.append(head)
    for name, d in result.deployments.items():
        breakdown = d.tco.cost if d.tco else (d.seed.per_token if d.seed else None)
        if breakdown is None:
            continue
        unit = "$/accelerator-hour" if d.tco else "$/token"
        t = Table(title=f"{name}: {unit}", title_justify="left")
        t.add_column("line")
        t.add_column("value", justify="right")
        t.add_column("source", overflow="fold")
        for line in breakdown.lines:
            t.add_row(line.name, f"{as_float(line.value):.6g}", line.source)
        t.add_row(Text("total", style="bold"), f"{as_float(breakdown.total):.6g}", "")
        parts.append(t)
        if d.throughput is not None:
            tp = d.throughput
            parts.append(
                Text(
                    f"  throughput per replica: prefill {as_float(tp.prefill_tokens_per_s):,.0f} "
                    f"tok/s, decode {as_float(tp.decode_tokens_per_s):,.0f} tok/s "
                    f"({tp.decode_bound}-bound)"
                    f" — {tp.source}"
                )
            )
        if d.energy_check is not None:
            parts.append(Text(f"  energy check: {d.energy_check.message}", style="yellow"))
    for name, cost in result.training.items():
        parts.append(
            Text(
                f"training amortised on {name}: {as_float(cost.gpu_hours):,.0f} GPU-hours, "
                f"{money(as_float(cost.usd))} → "
                f"{money(as_float(cost.usd_per_1k_served_tokens), 3)}/1K served tokens"
            )
        )
    if result.features:
        pnl = Table(title="feature P&L per month", title_justify="left")
        for col in (
            "feature",
            "requests",
            "revenue",
            "inference",
            "eval/safety",
            "training",
            "fixed",
            "COGS",
            "gross margin",
        ):
            pnl.add_column(col, justify="right")
        total = result.total
        for p in [*result.features, *([total] if total else [])]:
            pnl.add_row(
                p.name,
                f"{as_float(p.requests):,.0f}",
                money(as_float(p.revenue)),
                money(as_float(p.inference)),
                money(as_float(p.eval_safety)),
                money(as_float(p.training)),
                money(as_float(p.fixed)),
                money(as_float(p.cogs)),
                f"{as_float(p.gross_margin):.1%}",
            )
        parts.append(pnl)
    return Group(*parts)


def percentile_table(mc: MonteCarlo) -> Table:
    t = Table(title=f"Monte-Carlo: {mc.samples:,} draws, seed {mc.seed}", title_justify="left")
    for col in ("output", "P5", "P50", "P95"):
        t.add_column(col, justify="right" if col != "output" else "left")
    for name, p in mc.percentiles().items():
        t.add_row(name, *(f"{p[k]:.6g}" for k in ("p5", "p50", "p95")))
    return t


def tornado_table(output: str, base: float, bars: list[TornadoBar]) -> Table:
    t = Table(title=f"sensitivity of {output} (base {base:.6g})", title_justify="left")
    for col in ("input", "range", f"{output} at low", "at high", "swing"):
        t.add_column(col, justify="right" if col != "input" else "left")
    for b in bars:
        t.add_row(
            b.input,
            f"{b.low:g} – {b.high:g}",
            f"{b.output_at_low:.6g}",
            f"{b.output_at_high:.6g}",
            f"{b.swing:.4g}",
        )
    return t


def _usd_column(nanos: Sequence[int]) -> list[str]:
    """One precision for a whole column: cents once any figure reaches $100, else 1/100 ¢."""
    from unitcost.report.model import fmt_usd, usd

    places = 2 if any(abs(n) >= 100_000_000_000 for n in nanos) else 4
    return [fmt_usd(usd(n), places) for n in nanos]


def usage_table(
    rows: Sequence[dict[str, object]],
    group_by: Sequence[str],
    title: str,
    *,
    wide: bool = False,
    per: int = 1_000_000,
) -> RenderableType:
    """`unitcost usage`'s table: the grouping columns, then calls, tokens and money, fitted
    to 80 columns (`wide` adds cached, reasoning, rejected and estimated counts)."""

    def num(row: dict[str, object], key: str) -> int:
        v = row.get(key)
        return int(v) if isinstance(v, int | float) else 0

    def nanos(row: dict[str, object], key: str) -> int:
        if f"{key}_nanos" in row:
            return num(row, f"{key}_nanos")
        v = row.get(f"{key}_usd")
        return round(float(v) * 1e9) if isinstance(v, int | float) else 0  # a v1 store

    unit = "$/1M" if per == 1_000_000 else "$/1K"
    header: list[tuple[str, str | None]] = [(g, None) for g in group_by]
    # most telling first: what does not fit moves behind --wide from the right
    header += [("requests", "req"), ("cost", None), (f"{unit} tokens", unit),
               ("errors", "err"), ("prompt tokens", "in tok"),
               ("completion tokens", "out tok"), ("saved by cache", "saved")]  # fmt: skip
    if wide:
        header += [("cached tokens", None), ("reasoning tokens", None), ("rejected", None),
                   ("estimated", None)]  # fmt: skip
    costs = [nanos(r, "cost") for r in rows]
    savings = [nanos(r, "saving") for r in rows]
    cost_text, saving_text = _usd_column(costs), _usd_column(savings)
    cells = []
    for i, r in enumerate(rows):
        tokens = num(r, "prompt_tokens") + num(r, "completion_tokens")
        # $/token for display only; the sums above stay exact
        rate = f"${costs[i] / 1e9 / tokens * per:,.4f}" if tokens else "–"
        line = [("(none)" if r.get(g) in (None, "") else str(r.get(g))) for g in group_by]
        line += [f"{num(r, 'requests'):,}", cost_text[i], rate, f"{num(r, 'errors'):,}",
                 f"{num(r, 'prompt_tokens'):,}", f"{num(r, 'completion_tokens'):,}",
                 saving_text[i]]  # fmt: skip
        if wide:
            line += [f"{num(r, k):,}" for k in ("cached_tokens", "reasoning_tokens", "rejected",
                                                 "estimated")]  # fmt: skip
        cells.append(line)
    return fit_table(title, header, cells, wide=wide, left=len(group_by))
