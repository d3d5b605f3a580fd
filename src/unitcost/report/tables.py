"""Rich tables for people: an estimate's breakdown, Monte-Carlo percentiles, a tornado; every
one fits 80 columns, money in $ at one precision per column, never scientific notation.

    out.print(estimate_view(evaluate(spec)))
    out.print(tornado_table(*tornado(spec)))
    number(0.0000842)      # '0.0000842'
    short_inputs(["deployments.a.self_hosted.lease_usd_per_hour"])   # ['a lease_usd_per_hour']

`fit_table`, `usage_table` and `usd_column` live in `report.fit` and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from rich.console import Group, RenderableType
from rich.text import Text

from unitcost.economics.breakdown import as_float
from unitcost.economics.scenario import MonteCarlo, Result, TornadoBar
from unitcost.report.fit import WIDTH, fit_table, plural, usage_table, usd_column, wrap_note
from unitcost.report.model import fmt_usd

__all__ = [
    "WIDTH",
    "demo_table",
    "estimate_view",
    "fit_table",
    "input_label",
    "money",
    "number",
    "output_label",
    "percentile_table",
    "quantity",
    "quantity_range",
    "short_inputs",
    "tornado_table",
    "usage_table",
    "usd_column",
]


def money(value: float, digits: int = 4) -> str:
    """Dollars to `digits` significant figures (whole dollars past $1,000), in fixed
    notation: `$0.0004809`, `$23.95`, `$43,451`."""
    if value != value:  # NaN
        return "n/a"
    if abs(value) >= 1000:
        return fmt_usd(Decimal(repr(value)), 0)
    return "$" + number(value, digits) if value >= 0 else "-$" + number(-value, digits)


def number(value: float, digits: int = 4) -> str:
    """A plain number to `digits` significant figures, never in scientific notation."""
    if value != value:
        return "n/a"
    if value == 0:
        return "0"
    d = Decimal(repr(float(value)))
    exponent = d.adjusted()
    places = max(digits - 1 - exponent, 0)
    text = f"{round(d, places):,.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


_SHARES = ("margin", "attach_rate", "utilisation", "utilization", "share", "rate_of")
_DOLLARS = ("revenue", "cogs", "profit", "cost", "usd")


def quantity(name: str, value: float, *, change: bool = False, unit: bool = True) -> str:
    """A scenario figure in its unit, read off its name: `…gross_margin` 0.9583 → `95.83%`,
    `…usd_per_1k_output` 0.0011 → `$1.0968/1M` (a $/1K figure that small reads better per
    million), `…revenue` 43451.2 → `$43,451`, `…usd_per_hour` → `$4.388/h`; anything else a
    plain number. `change`: a difference (a share's in percentage points); `unit=False`
    leaves the /1M, /h to a label that already says it. Never scientific notation."""
    last = name.rsplit(".", 1)[-1]
    if any(k in last for k in _SHARES):  # a change of a share is in percentage points
        return "n/a" if value != value else f"{value * 100:.2f}{' pp' if change else '%'}"
    if "usd_per_1k" in last:
        return money(value * 1000) + ("/1M" if unit else "")
    if last.endswith("_per_hour") and "usd" in last:
        return money(value) + ("/h" if unit else "")
    if any(k in last for k in _DOLLARS):
        return money(value)
    return number(value, 5)


def quantity_range(name: str, low: float, high: float) -> str:
    return f"{quantity(name, low)} – {quantity(name, high)}"


def _words(field: str) -> str:
    """`usd_per_1k_output` → `$/1M output`, `output_tokens_per_s` → `output tokens/s`;
    `usd_per_1k_tokens` → `$/1M` (per million tokens is what $/1M means everywhere)."""
    text = (
        field.replace("usd_per_1k_tokens", "$/1M")
        .replace("usd_per_1k_", "$/1M ")
        .replace("usd_per_", "$/")
    )
    text = text.replace("_per_1k_", "/1K ").replace("_per_", "/").replace("_", " ")
    return "Wh" + text[2:] if text.startswith("wh") else text


def output_label(name: str) -> str:
    """`features.reply-drafts.gross_margin` → `reply-drafts gross margin`;
    `llama.usd_per_1k_output` → `llama $/1M output` (the figure is shown per million)."""
    parts = name.split(".")
    if parts[0] == "features" and len(parts) > 2:
        parts = parts[1:]
    return " ".join([*parts[:-1], _words(parts[-1])])


def input_label(short: str) -> str:
    """A `short_inputs` name in words: `features reply-drafts.attach_rate` →
    `reply-drafts attach rate` (its range keeps the unit: $/1K list prices stay per 1K)."""
    text = short.removeprefix("features ").replace(".", " ")
    return text.replace("_usd_per_hour", " $/h").replace("_", " ")


def short_inputs(paths: Sequence[str]) -> list[str]:
    """Scenario input paths as people read them: `deployments.llama.self_hosted.lease_usd_
    per_hour` → `llama lease_usd_per_hour`; the full path where the short form would clash."""
    drop = ("self_hosted", "list_price", "seed", "throughput")

    def short(p: str) -> str:
        parts = p.split(".")
        if parts and parts[0] == "deployments":
            parts = parts[1:]
        parts = [x for x in parts if x not in drop]
        return " ".join([*parts[:1], ".".join(parts[1:])]) if len(parts) > 1 else ".".join(parts)

    names = [short(p) for p in paths]
    return [n if names.count(n) == 1 else p for n, p in zip(names, paths, strict=True)]


def _note(text: str, style: str = "") -> Text:
    """A note under a table, wrapped at 80 columns under its own first word."""
    return Text(wrap_note(text), style=style)


def estimate_view(result: Result, *, wide: bool = False) -> RenderableType:
    """Token prices per 1M tokens (per 1K they are mostly zeros); --json keeps per 1K."""
    parts: list[RenderableType] = []
    w = result.workload
    per_request = f"$/request ({as_float(w.input_tokens):g} in, {as_float(w.output_tokens):g} out)"
    header = [
        ("deployment", None),
        ("$/1M input", "$/1M in"),
        ("$/1M output", "$/1M out"),
        (per_request, "$/req"),
        ("Wh/1K output", "Wh/1K"),
        ("gCO2e/1K output", "gCO2e/1K"),
        ("priced by", None),
    ]
    deps = list(result.deployments.values())
    cols = [
        usd_column([as_float(d.unit_cost.usd_per_1k_input) * 1000 for d in deps]),
        usd_column([as_float(d.unit_cost.usd_per_1k_output) * 1000 for d in deps]),
        usd_column([as_float(d.unit_cost.usd_per_request(w)) for d in deps]),
    ]
    rows = [
        [
            d.name,
            cols[0][i],
            cols[1][i],
            cols[2][i],
            number(as_float(d.unit_cost.wh_per_1k_output), 3) if d.tco else "–",
            number(as_float(d.unit_cost.carbon_g_per_1k_output), 3) if d.tco else "–",
            d.kind,
        ]
        for i, d in enumerate(deps)
    ]
    title = f"{result.scenario.name}: unit cost per deployment"
    parts.append(fit_table(title, header, rows, wide=wide))
    for name, d in result.deployments.items():
        breakdown = d.tco.cost if d.tco else (d.seed.per_token if d.seed else None)
        if breakdown is None:
            continue
        # a seed price per token is shown per 1M tokens: $0.25, not $0.00000025
        unit, scale = ("$/accelerator-hour", 1.0) if d.tco else ("$/1M tokens", 1e6)
        values = usd_column(
            [as_float(x.value) * scale for x in breakdown.lines]
            + [as_float(breakdown.total) * scale]
        )
        lines = [[x.name, values[i], x.source] for i, x in enumerate(breakdown.lines)]
        lines.append(["total", values[-1], ""])
        parts.append(
            fit_table(
                f"{name}: {unit}",
                [("line", None), ("source", None), ("value", None)],
                [[r[0], r[2], r[1]] for r in lines],
                left=2,
                wide=wide,
            )
        )
        if d.throughput is not None:
            tp = d.throughput
            parts.append(
                _note(
                    f"  throughput per replica: prefill {as_float(tp.prefill_tokens_per_s):,.0f} "
                    f"tok/s, decode {as_float(tp.decode_tokens_per_s):,.0f} tok/s "
                    f"({tp.decode_bound}-bound) — {tp.source}"
                )
            )
        if d.energy_check is not None:
            parts.append(_note(f"  energy check: {d.energy_check.message}", style="yellow"))
    for name, cost in result.training.items():
        parts.append(
            _note(
                f"training amortised on {name}: {as_float(cost.gpu_hours):,.0f} GPU-hours, "
                f"{money(as_float(cost.usd))} → "
                f"{money(as_float(cost.usd_per_1k_served_tokens) * 1000, 3)}/1M served tokens"
            )
        )
    if result.features:
        total = result.total
        pnls = [*result.features, *([total] if total else [])]
        # what a CFO reads first (revenue, COGS, margin) comes first; COGS's parts follow
        # and are the ones that move behind --wide at 80 columns
        header = [
            ("feature", None),
            ("requests", "req"),
            ("revenue", None),
            ("COGS", None),
            ("gross margin", "margin"),
            ("inference", "infer."),
            ("eval/safety", "eval"),
            ("training", "train."),
            ("fixed", None),
        ]
        money_cols = {
            k: usd_column([as_float(getattr(p, k)) for p in pnls])
            for k in ("revenue", "cogs", "inference", "eval_safety", "training", "fixed")
        }
        rows = [
            [
                p.name,
                f"{as_float(p.requests):,.0f}",
                money_cols["revenue"][i],
                money_cols["cogs"][i],
                quantity("gross_margin", as_float(p.gross_margin)),
                *(money_cols[k][i] for k in ("inference", "eval_safety", "training", "fixed")),
            ]
            for i, p in enumerate(pnls)
        ]
        parts.append(fit_table("feature P&L per month", header, rows, wide=wide))
    return Group(*parts)


def percentile_table(mc: MonteCarlo, *, wide: bool = False) -> RenderableType:
    rows = [[output_label(name), *_percentiles(name, p)] for name, p in mc.percentiles().items()]
    return fit_table(
        f"Monte-Carlo: {plural(mc.samples, 'draw')}, seed {mc.seed}",
        [("output", None), ("P5", None), ("P50", None), ("P95", None)],
        rows,
        wide=wide,
    )


def _percentiles(name: str, p: dict[str, float]) -> list[str]:
    """P5, P50, P95 in the output's unit; dollars at one precision across the row."""
    values = [p[k] for k in ("p5", "p50", "p95")]
    cells = [quantity(name, v, unit=False) for v in values]
    if all(c.startswith("$") for c in cells):
        scale = 1000.0 if "usd_per_1k" in name.rsplit(".", 1)[-1] else 1.0  # shown per 1M
        cells = usd_column([v * scale for v in values])
    return cells


def tornado_table(
    output: str, base: float, bars: list[TornadoBar], *, wide: bool = False
) -> RenderableType:
    names = [input_label(n) for n in short_inputs([b.input for b in bars])]
    rows = [
        [
            name,
            quantity_range(b.input, b.low, b.high),
            quantity(output, b.output_at_low, unit=False),
            quantity(output, b.output_at_high, unit=False),
            quantity(output, b.swing, change=True, unit=False),
        ]
        for name, b in zip(names, bars, strict=True)
    ]
    return fit_table(
        f"sensitivity of {output_label(output)} (base {quantity(output, base, unit=False)})",
        [
            ("input", None),
            ("range", None),
            ("at low", None),
            ("at high", None),
            ("swing", None),
        ],
        rows,
        left=2,
        wide=wide,
    )


def demo_table(
    title: str, rows: Sequence[dict[str, object]], *, wide: bool = False
) -> RenderableType:
    """`unitcost demo`'s per-deployment table, fitted to 80 columns. Each row: name,
    requests, accuracy (a share), prompt_tokens, completion_tokens, reasoning_tokens,
    cost_usd, usd_per_1k_tokens."""

    def f(r: dict[str, object], k: str) -> float:
        v = r.get(k)
        return float(v) if isinstance(v, int | float) else float("nan")

    cost = usd_column([f(r, "cost_usd") for r in rows])
    per_m = usd_column([f(r, "usd_per_1k_tokens") * 1000 for r in rows])
    header = [
        ("deployment", None),
        ("requests", "req"),
        ("accuracy", "acc"),
        ("cost", None),
        ("$/1M tokens", "$/1M"),
        ("prompt tokens", "in tok"),
        ("completion tokens", "out tok"),
        ("of which reasoning", "reasoning"),
    ]
    cells = [
        [
            str(r.get("name")),
            f"{int(f(r, 'requests')):,}",
            f"{f(r, 'accuracy') * 100:.1f}%",
            cost[i],
            per_m[i],
            f"{int(f(r, 'prompt_tokens')):,}",
            f"{int(f(r, 'completion_tokens')):,}",
            f"{int(f(r, 'reasoning_tokens')):,}",
        ]
        for i, r in enumerate(rows)
    ]
    return fit_table(title, header, cells, wide=wide)
