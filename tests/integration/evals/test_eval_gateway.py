"""`unitcost eval` through the real gateway (replay portfolio, SQLite ledger, openai SDK).

Every sample is a ledger row (tenant eval, feature = task, cohort = variant); a resumed run
sends nothing; the --max-usd cap holds under concurrency; gates set the exit code.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from unitcost.errors import InputError
from unitcost.evals.results import summarise
from unitcost.evals.runner import EvalRun, RunOptions, run_eval
from unitcost.evals.tasks import Task, builtin_task, parse_task
from unitcost.ledger.store import open_store


def _task(n: int, variants: tuple[str, ...] = ("gpt-5-mini", "gemini-3.1-pro-preview")) -> Task:
    task = builtin_task("gpqa")
    chosen = [v for v in task.variants if v.name in variants]
    return task.model_copy(update={"items": task.items[:n], "variants": chosen})


def _rows(run: EvalRun) -> list:  # type: ignore[type-arg]
    assert run.ledger_url is not None
    store = open_store(run.ledger_url)
    try:
        return store.records(limit=100_000)
    finally:
        store.close()


def _quiet(_: str) -> None:
    pass


def test_every_sample_is_a_ledger_row_and_the_report_adds_up(tmp_path: Path) -> None:
    run = run_eval([_task(12)], RunOptions(out=tmp_path, concurrency=4, log=_quiet))
    rows = _rows(run)
    assert run.fresh == len(rows) == 24
    assert {r.tenant for r in rows} == {"eval"}
    assert {r.feature for r in rows} == {"gpqa"}
    assert {r.cohort for r in rows} == {"gpt-5-mini", "gemini-3.1-pro-preview"}
    assert run.spent_nanos == sum(r.cost_nanos for r in rows) > 0
    by_request = {r.request_id: r for r in rows}
    for sample in run.log.samples.values():
        row = by_request[sample.request_id]
        assert sample.cost_source == "ledger"
        assert (sample.cost_nanos, sample.completion_tokens) == (
            row.cost_nanos,
            row.completion_tokens,
        )
        assert (row.feature, row.cohort) == (sample.task, sample.variant)
    result = summarise(run, resamples=200)[0]
    assert result.variants["gemini-3.1-pro-preview"].n == 12
    spent = sum(v.spent_nanos for v in result.variants.values())
    assert spent == run.spent_nanos


def test_a_resumed_run_spends_nothing_and_adds_no_ledger_rows(tmp_path: Path) -> None:
    first = run_eval([_task(6)], RunOptions(out=tmp_path, log=_quiet))
    assert first.fresh == 12 and len(_rows(first)) == 12
    again = run_eval([_task(6)], RunOptions(out=tmp_path, log=_quiet))
    assert (again.fresh, again.cached, again.spent_nanos) == (0, 12, 0)
    assert again.ledger_url is None  # nothing to ask: the gateway was not even started
    assert len(_rows(first)) == 12  # the ledger shows no new upstream rows
    # more items later: only the new ones are asked
    more = run_eval([_task(9)], RunOptions(out=tmp_path, log=_quiet))
    assert (more.fresh, more.cached) == (6, 12)
    assert len(_rows(more)) == 18
    # re-scoring the recorded answers offline calls nothing at all
    scored = run_eval([_task(9)], RunOptions(out=tmp_path, offline=True))
    assert scored.fresh == 0 and scored.missing == 0
    assert summarise(scored, resamples=200)[0].variants["gpt-5-mini"].n == 9


def test_the_cap_holds_under_concurrency(tmp_path: Path) -> None:
    cap = 0.40
    task = _task(40, ("gemini-3.1-pro-preview", "gpt-5.2-high", "gpt-5-mini"))
    # max_tokens bounds each call's hold: 4,096 output tokens at $14/M is $0.057
    task = task.model_copy(update={"params": {"max_tokens": 4096}})
    run = run_eval([task], RunOptions(out=tmp_path, concurrency=8, max_usd=cap, log=_quiet))
    spent = sum(r.cost_nanos for r in _rows(run))
    assert 0 < spent <= cap * 1e9
    assert run.skipped > 0  # 120 calls do not fit in $0.40


def test_the_cap_needs_max_tokens(tmp_path: Path) -> None:
    task = _task(2).model_copy(update={"params": {}})
    with pytest.raises(InputError, match=r"params\.max_tokens: needed with --max-usd"):
        run_eval([task], RunOptions(out=tmp_path, max_usd=1.0, log=_quiet))


def test_a_model_the_gateway_does_not_serve(tmp_path: Path) -> None:
    task = _task(2)
    bad = task.model_copy(
        update={"variants": [task.variants[0].model_copy(update={"model": "gpt-9"})]}
    )
    with pytest.raises(InputError, match="'gpt-9' is not served by the gateway"):
        run_eval([bad], RunOptions(out=tmp_path, log=_quiet))


def test_an_upstream_error_scores_zero_and_is_asked_again(tmp_path: Path) -> None:
    data = tmp_path / "q.jsonl"
    data.write_text('{"id": "x", "prompt": "a question nobody recorded", "target": "A"}\n')
    raw = {
        "name": "unrecorded",
        "dataset": {"path": str(data)},
        "metric": {"kind": "choice"},
        "variants": [{"name": "mini", "model": "gpt-5-mini"}],
    }
    task = parse_task(raw)
    run = run_eval([task], RunOptions(out=tmp_path / "out", log=_quiet))
    sample = next(iter(run.log.samples.values()))
    assert sample.status == "error" and "HTTP 400" in (sample.error or "")
    r = summarise(run, resamples=200)[0].variants["mini"]
    assert (r.errors, r.n, float(r.scores[0])) == (1, 1, 0.0)
    again = run_eval([task], RunOptions(out=tmp_path / "out", log=_quiet))
    assert again.fresh == 1  # errors are not cached


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "unitcost", "eval", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_gates_pass_fail_and_exit_codes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    junit = tmp_path / "gates.xml"
    common = ["run", "gpqa", "--limit", "20", "--variant", "gpt-5-mini", "--out", str(out)]
    passed = _cli(*common, "--gate", "quality >= 0.5", "--junit", str(junit))
    assert passed.returncode == 0, passed.stderr
    assert "gate PASS quality >= 0.5" in passed.stdout
    assert ET.parse(junit).getroot().get("failures") == "0"
    # the same answers, a gate they clearly miss (about 80% of 20, CI well under 99%)
    failed = _cli(*common, "--gate", "quality >= 0.99", "--junit", str(junit))
    assert failed.returncode == 1, failed.stderr
    assert "gate FAIL" in failed.stdout
    assert "nothing was sent" in failed.stdout  # the second run was free
    assert ET.parse(junit).getroot().get("failures") == "1"
    for name in ("report.json", "report.csv", "frontier.png", "report.html", "summary.md"):
        assert (out / name).stat().st_size > 0
    bad = _cli(*common, "--gate", "accuracy >= 0.5")
    assert bad.returncode == 2 and "unknown metric 'accuracy'" in bad.stderr
    assert "Traceback" not in bad.stderr
