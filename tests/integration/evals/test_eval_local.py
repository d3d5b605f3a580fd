"""`unitcost eval` on a live model: SmolLM2 under the local engine, through the gateway.

Prompt templates and generation parameters as variants, and an LLM judge whose calls are
ledger rows of their own (feature `TASK/judge`), kept apart from the candidates' spend.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from unitcost.engine import server as engine
from unitcost.evals.results import summarise
from unitcost.evals.runner import RunOptions, run_eval
from unitcost.evals.tasks import load_task
from unitcost.ledger.store import open_store

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "evals"

pytestmark = pytest.mark.skipif(
    not engine.available(), reason="the local engine is not built: unitcost engine install"
)


def _gateway(tmp_path: Path) -> Path:
    path = tmp_path / "gateway.yaml"
    deployment = {
        "name": "smollm2",
        "backend": "local",
        # a given rate skips the start-up measurement: this test prices nothing it quotes
        "options": {"quant": "Q4_1", "parallel": 2, "tokens_per_s": 40.0},
    }
    path.write_text(yaml.safe_dump({"deployments": [deployment], "log_level": "error"}))
    return path


def _quiet(_: str) -> None:
    pass


def test_templates_and_params_are_variants_of_one_live_model(tmp_path: Path) -> None:
    task = load_task(str(EXAMPLES / "capitals.yaml"))
    task = task.model_copy(update={"items": task.items[:4]})
    options = RunOptions(out=tmp_path / "out", gateway=str(_gateway(tmp_path)), log=_quiet)
    run = run_eval([task], options)
    assert run.fresh == 12  # 4 items × 3 variants
    result = summarise(run, resamples=200)[0]
    short = result.variants["terse-short"]
    assert short.tokens["completion"] <= 4 * 6  # max_tokens 6 held on every answer
    assert result.variants["plain"].tokens["completion"] > short.tokens["completion"]
    assert run.ledger_url is not None
    store = open_store(run.ledger_url)
    rows = store.records(limit=1000)
    store.close()
    assert {r.cohort for r in rows} == {"plain", "terse", "terse-short"}
    assert all(r.deployment == "smollm2" and r.tenant == "eval" for r in rows)


def test_a_judges_spend_is_accounted_apart(tmp_path: Path) -> None:
    task = load_task(str(EXAMPLES / "judge.yaml"))
    task = task.model_copy(update={"items": task.items[:3]})
    options = RunOptions(out=tmp_path / "out", gateway=str(_gateway(tmp_path)), log=_quiet)
    run = run_eval([task], options)
    assert run.ledger_url is not None
    store = open_store(run.ledger_url)
    rows = store.records(limit=1000)
    store.close()
    judge_rows = [r for r in rows if r.feature == "capitals-judged/judge"]
    candidate_rows = [r for r in rows if r.feature == "capitals-judged"]
    assert len(judge_rows) == len(candidate_rows) == 3
    assert run.judge_spent_nanos == sum(r.cost_nanos for r in judge_rows) > 0
    result = summarise(run, resamples=200)[0].variants["smollm2"]
    assert result.judge_nanos == run.judge_spent_nanos
    assert result.recorded_nanos == sum(r.cost_nanos for r in candidate_rows)
    assert result.n == 3  # every answer got a verdict (a grade, or none: scored 0)
    again = run_eval([task], options)
    assert again.fresh == 0  # candidates and verdicts both come from the log
