"""Human tables fit 80 columns, show money with $ and fixed places, and say (none)."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from unitcost.report.tables import fit_table, usage_table


def _render(renderable: object, width: int = 80) -> list[str]:
    buf = io.StringIO()
    Console(file=buf, width=width, force_terminal=False, color_system=None).print(renderable)
    return buf.getvalue().splitlines()


ROWS = [
    {
        "tenant": "acme",
        "feature": None,
        "deployment": "gemini-3.1-pro-preview",
        "requests": 258,
        "errors": 2,
        "rejected": 1,
        "prompt_tokens": 59_120,
        "cached_tokens": 0,
        "completion_tokens": 1_985_891,
        "reasoning_tokens": 1_793_332,
        "estimated": 0,
        "cost_nanos": 23_950_000_123,
        "saving_nanos": 0,
    },
    {
        "tenant": "globex",
        "feature": "search",
        "deployment": "smollm2-local",
        "requests": 3,
        "errors": 0,
        "rejected": 0,
        "prompt_tokens": 602,
        "cached_tokens": 0,
        "completion_tokens": 134,
        "reasoning_tokens": 0,
        "estimated": 3,
        "cost_nanos": 480_900,
        "saving_nanos": 1_000,
    },
]


def test_usage_fits_80_columns_with_units() -> None:
    lines = _render(usage_table(ROWS, ["tenant", "feature", "deployment"], "usage"))
    assert max(len(x) for x in lines) <= 80
    text = "\n".join(lines)
    assert "(none)" in text and "None" not in text
    assert "$23.9500" in text and "$0.0005" in text  # one precision for the column
    assert "e-0" not in text and "e+0" not in text
    assert "gemini-3.1-pro-preview" in text  # names are never cut
    assert "$11.7114" in text  # $/1M tokens: 23.950000123 / 2,045,011 tokens × 1e6


def test_usage_ends_with_a_total_summed_exactly() -> None:
    lines = _render(usage_table(ROWS, ["tenant", "feature"], "usage", wide=True), width=200)
    total = next(line for line in lines if line.split()[:1] == ["total"])
    # $23.950000123 + $0.0004809 = $23.9504810 (the column has 4 places); over 2,045,747
    # tokens that is $11.7075/1M
    assert total.split()[1:4] == ["261", "$23.9505", "$11.7075"]
    assert "(none)" not in total
    single = _render(usage_table(ROWS[:1], ["tenant"], "usage"))
    assert not any(line.split()[:1] == ["total"] for line in single)


def test_wide_shows_every_column() -> None:
    narrow = "\n".join(_render(usage_table(ROWS, ["tenant"], "usage")))
    wide = "\n".join(_render(usage_table(ROWS, ["tenant"], "usage", wide=True), width=200))
    assert "reasoning tokens" not in narrow and "reasoning tokens" in wide
    assert "1,793,332" in wide


def test_columns_that_cannot_fit_are_named() -> None:
    header = [(f"column {i}", None) for i in range(12)]
    rows = [[f"value-{i:04d}" for i in range(12)]]
    lines = _render(fit_table("t", header, rows))
    assert max(len(x) for x in lines) <= 80
    assert "more columns with --wide: column" in "\n".join(lines)


def test_demo_table_keeps_cost_within_80_columns() -> None:
    from unitcost.report.tables import demo_table

    rows = [
        {
            "name": "gemini-3.1-pro-preview",
            "requests": 258,
            "accuracy": 0.953,
            "prompt_tokens": 59_120,
            "completion_tokens": 1_985_891,
            "reasoning_tokens": 1_793_332,
            "cost_usd": 23.95,
            "usd_per_1k_tokens": 0.01171,
        },
        {
            "name": "smollm2-local",
            "requests": 3,
            "accuracy": 0.0,
            "prompt_tokens": 602,
            "completion_tokens": 134,
            "reasoning_tokens": 0,
            "cost_usd": 0.0004809,
            "usd_per_1k_tokens": 0.0006534,
        },
    ]
    lines = _render(demo_table("demo", rows))
    text = "\n".join(lines)
    assert max(len(x) for x in lines) <= 80
    assert "$23.950000" in text and "$0.000481" in text and "$0.6534" in text
    assert "95.3%" in text and "…" not in text


def test_scenario_figures_are_shown_in_their_units() -> None:
    from unitcost.report.tables import input_label, output_label, quantity

    assert quantity("features.reply-drafts.gross_margin", 0.95834) == "95.83%"
    assert quantity("total.gross_margin", 0.0477, change=True) == "4.77 pp"
    assert quantity("features.reply-drafts.revenue", 43451.2) == "$43,451"
    assert quantity("llama.usd_per_1k_output", 0.0010968) == "$1.097/1M"
    assert quantity("llama.usd_per_1k_output", 0.0010968, unit=False) == "$1.097"
    assert quantity("llama.self_hosted.lease_usd_per_hour", 3.5) == "$3.5/h"
    assert quantity("llama.output_tokens_per_s", 2695.7) == "2,695.7"
    assert "e" not in quantity("llama.usd_per_1k_input", 0.000000034)
    assert output_label("features.reply-drafts.gross_margin") == "reply-drafts gross margin"
    assert output_label("llama.usd_per_1k_output") == "llama $/1M output"
    assert output_label("big.training_usd_per_1k_tokens") == "big training $/1M"
    assert output_label("llama.output_tokens_per_s") == "llama output tokens/s"
    assert input_label("features reply-drafts.attach_rate") == "reply-drafts attach rate"


def test_scenario_tables_fit_80_columns_and_wide_shows_all() -> None:
    from unitcost.economics.scenario import monte_carlo, tornado
    from unitcost.economics.spec import load_scenario
    from unitcost.report.tables import percentile_table, tornado_table

    spec = load_scenario(Path(__file__).resolve().parents[3] / "examples" / "feature-pnl.yaml")
    mc = monte_carlo(spec, samples=2_000, seed=1)
    name, base, bars = tornado(spec, None)
    for table in (percentile_table(mc), tornado_table(name, base, bars)):
        lines = _render(table)
        assert max(len(x.rstrip()) for x in lines) <= 80
        assert not any("--wide" in x for x in lines)  # nothing left out at 80 columns
    margins = [x.split()[-1] for x in _render(percentile_table(mc)) if "gross margin" in x]
    assert margins and all(m.endswith("%") for m in margins)  # a share, not 0.9583
    revenue = [x.split()[-1] for x in _render(percentile_table(mc)) if "revenue" in x]
    assert revenue and all(r.startswith("$") for r in revenue)
    assert any("P95" in x for x in _render(percentile_table(mc, wide=True), width=120))


def test_a_long_name_folds_instead_of_hiding_the_numbers() -> None:
    long = "acme-corporation-european-division-production"  # one 45-character word
    lines = _render(usage_table([{**ROWS[0], "tenant": long}, ROWS[1]], ["tenant"], "usage"))
    assert max(len(x) for x in lines) <= 80
    text = "\n".join(lines)
    assert "$23.9500" in text and "$11.7114" in text  # cost and $/1M tokens still shown
    assert long not in text and long[:16] in text  # folded, not cut


def test_names_up_to_24_characters_are_never_split() -> None:
    rows = [{**r, "deployment": r["deployment"] + "-eu-w"} for r in ROWS]  # 27 and 18
    text = "\n".join(_render(usage_table(rows, ["tenant", "feature", "deployment"], "usage")))
    assert "smollm2-local-eu-w" in text  # 18: whole
    assert "gemini-3.1-pro-preview-eu-w" not in text  # 27: folded
