"""Reports: 80 columns, exact money, every output format, and the eval log they read."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import orjson
import pytest

from tests.unit.evals.recorded import recorded_run
from unitcost.errors import InputError
from unitcost.evals.gates import check_gates, parse_gate
from unitcost.evals.log import EvalLog, Sample
from unitcost.evals.outcomes import write_outcomes
from unitcost.evals.plots import frontier_png, html_report
from unitcost.evals.report import build_report, exact_usd
from unitcost.evals.results import summarise
from unitcost.evals.tables import WIDTH, csv_text, markdown_summary, terminal_text


def _report(tmp_path: Path):  # type: ignore[no-untyped-def]
    n = 60
    _, run = recorded_run(
        tmp_path,
        {
            "a-rather-long-variant-name-that-needs-cutting": ([1] * 50 + [0] * 10, [333] * n),
            "cheap": ([1] * 30 + [0] * 30, [7] * n),
            "dear": ([1] * 55 + [0] * 5, [123_456_789] * n),
        },
    )
    results = summarise(run, resamples=300)
    gates = check_gates([parse_gate("quality >= 0.7")], results)
    return run, results, build_report(run, results, gates)


def test_terminal_report_fits_80_columns_and_has_no_scientific_notation(tmp_path: Path) -> None:
    _, _, report = _report(tmp_path)
    text = terminal_text(report)
    assert max(len(line) for line in text.splitlines()) <= WIDTH
    assert not re.search(r"\d[eE][-+]?\d", text)
    assert "None" not in text
    assert "legend: A = a-rather-long-variant-name-that-needs-cutting" in text.replace(
        "\n    ", " "
    )
    assert "gate FAIL quality >= 0.7: t cheap" in text  # 50%, CI 37.7–62.3%: clear of 70%
    assert "frontier" in text


def test_paired_rows_carry_dollars_and_points_and_never_nan(tmp_path: Path) -> None:
    _, _, report = _report(tmp_path)
    text = terminal_text(report)
    assert "nan" not in text.lower()
    pair = next(line for line in text.splitlines() if "(n=60)" in line)
    assert re.search(r"[-+]\d+\.\dpt \(", pair) and re.search(r"[-+]\$\d", pair), pair


def test_json_money_is_exact_nano_dollar_sums(tmp_path: Path) -> None:
    _, _, report = _report(tmp_path)
    data = orjson.loads(report.to_json())
    # 60 × (333 + 7 + 123,456,789) nano-$ recorded; nothing spent now (all from the log)
    assert data["run"]["uncached_usd"] == exact_usd(60 * (333 + 7 + 123_456_789))
    assert data["run"]["uncached_usd"] == "7.407427740"
    assert data["run"]["spent_usd"] == "0.000000000"
    variants = {v["variant"]: v for v in data["tasks"][0]["variants"]}
    assert variants["dear"]["cost_per_task_usd"]["point"] == pytest.approx(0.123456789)
    assert variants["cheap"]["quality"]["method"] == "wilson"


def test_csv_markdown_png_and_html(tmp_path: Path) -> None:
    _, _, report = _report(tmp_path)
    rows = list(csv.DictReader(io.StringIO(csv_text(report))))
    assert [r["variant"] for r in rows][1:] == ["cheap", "dear"]
    assert rows[2]["uncached_usd"] == "7.407407340"  # 60 × $0.123456789, exactly
    md = markdown_summary(report)
    assert md.startswith("## unitcost eval") and "| cheap | 60 |" in md and "❌" in md
    png = frontier_png(report)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    html = html_report(report, png)
    assert "data:image/png;base64," in html
    assert not re.search(r"(src|href)=\"https?://", html)  # self-contained


def test_outcomes_file_in_the_shape_route_eval_reads(tmp_path: Path) -> None:
    from unitcost.routing.datasets import load_outcomes

    run, results, _ = _report(tmp_path)
    path = tmp_path / "outcomes.csv"
    assert write_outcomes(run, results, path) == 60
    data = load_outcomes(path)
    assert set(data.scores) == {"a-rather-long-variant-name-that-needs-cutting", "cheap", "dear"}
    assert data.scores["dear"].sum() == 55
    assert data.costs["dear"][0] == pytest.approx(0.123456789)
    with pytest.raises(InputError, match=".csv or .jsonl"):
        write_outcomes(run, results, tmp_path / "outcomes.txt")


def test_the_log_skips_a_line_cut_short_and_later_lines_win(tmp_path: Path) -> None:
    log = EvalLog(tmp_path)
    log.add(Sample("k1", "t", "v", "1", 0, "m", status="error", error="boom"))
    log.add(Sample("k1", "t", "v", "1", 0, "m", answer="fine", cost_nanos=5))
    with log.path.open("ab") as f:
        f.write(b'{"key": "k2", "task"')  # a crash mid-write
    again = EvalLog(tmp_path)
    got = again.get("k1")
    assert got is not None and got.answer == "fine" and got.cost_nanos == 5
    assert again.get("k2") is None
    failed = EvalLog(tmp_path / "x")
    failed.add(Sample("k3", "t", "v", "1", 0, "m", status="error"))
    assert failed.get("k3") is None  # errors are asked again
    with pytest.raises(InputError, match="holds no eval log"):
        EvalLog(tmp_path / "empty", read_only=True)


def test_long_words_are_cut_and_every_line_fits() -> None:
    from unitcost.evals.tables import _wrap

    path = "sqlite:////tmp/" + "x" * 150 + "/ledger.db"
    lines = _wrap(f"ledger: {path} (20 rows read back)")
    assert all(len(x) <= WIDTH for x in lines)
    assert "".join(x.strip() for x in lines).replace(" ", "") == (f"ledger:{path}(20rowsreadback)")
    assert _wrap("short") == ["short"]


def test_a_distilled_student_is_priced_against_its_teacher(tmp_path: Path) -> None:
    n = 40
    _, run = recorded_run(
        tmp_path,
        {
            "teacher": ([1] * 36 + [0] * 4, [1_000_000] * n),  # 90%, $0.001 a task
            "student": ([1] * 27 + [0] * 13, [100_000] * n),
        },  # 67.5%, $0.0001 a task
        teachers={"student": "teacher"},
    )
    report = build_report(run, summarise(run, resamples=200), [])
    (row,) = report.tasks[0].distilled
    assert (row["student"], row["teacher"]) == ("student", "teacher")
    assert row["quality_retained"] == pytest.approx(0.675 / 0.9)
    assert row["cost_ratio"] == pytest.approx(0.1)
    assert "distilled from" in terminal_text(report)
