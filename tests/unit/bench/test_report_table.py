"""`unitcost bench`'s table fits 80 columns and shows $/1K at one precision, never 1e-05."""

from __future__ import annotations

import io

from rich.console import Console

from unitcost.bench.metrics import Distribution, LevelStats, parse_slo
from unitcost.bench.report import results_table


def _level(label: str, out_tokens: int, usd_in: float, usd_out: float) -> LevelStats:
    d = Distribution(0.1, 0.2, 0.25, 0.3, 0.12)
    return LevelStats(
        label,
        4,
        None,
        20,
        1,
        10.0,
        5000,
        out_tokens,
        False,
        d,
        d,
        d,
        d,
        1.5,
        costs={"usd_per_1k_input": usd_in, "usd_per_1k_output": usd_out},
    )


def test_bench_table_fits_and_reads() -> None:
    levels = [_level("c=1", 640, 0.0000123, 0.00045), _level("c=8", 4800, 0.0000031, 0.00012)]
    buf = io.StringIO()
    Console(file=buf, width=80, color_system=None).print(
        results_table(levels, parse_slo("ttft_p95=500ms"), "c=8")
    )
    text = buf.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "e-0" not in text
    # $/1K this small reads as $/1M: $0.00045/1K = $0.4500/1M, one precision per column
    assert "$/1M out" in text and "$0.4500" in text and "$0.1200" in text
    assert "c=8 ← cheapest" in text
