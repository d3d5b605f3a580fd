"""`unitcost demo` end to end on the replay portfolio: what the ledger says each model cost
equals what its provider billed for the recorded answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from unitcost.catalog.replay import load_replay_set
from unitcost.demo import REPLAY_MODELS, ROUTE, STRONG, WEAK, routing_summary, run_demo
from unitcost.demo.traffic import CLASS_SAMPLE


def test_demo_reads_back_the_providers_bills(tmp_path: Path) -> None:
    result = run_demo(f"sqlite:///{tmp_path}/ledger.db", local=False, log=lambda _: None)
    data = load_replay_set()
    for model in REPLAY_MODELS:
        s = result.deployments[model]
        answers = data.models[model]["answers"].values()
        extra = 2 if model == WEAK else 0  # the guard walk-through's two requests
        assert s.requests == 258 + extra
        if extra:
            continue  # its bill includes the guarded request's recorded answer too
        assert s.cost_usd == pytest.approx(sum(a["cost"] for a in answers), rel=1e-9)
        assert s.completion_tokens == sum(a["completion_tokens"] for a in answers)
        assert s.reasoning_tokens == sum(a["reasoning_tokens"] for a in answers)
        recorded_accuracy = sum(a["score"] for a in answers) / 258
        assert s.accuracy == pytest.approx(recorded_accuracy, abs=1 / 258 + 1e-9)
    auto = result.deployments[ROUTE]
    assert auto.requests == 258 and sum(auto.served.values()) == 258
    assert 0 < auto.cost_usd < result.deployments[STRONG].cost_usd
    assert "saved" in routing_summary(result)
    # 5 × 258 calls, 40 questions through each of the two classes, the guard's two requests
    assert result.ledger_rows == 5 * 258 + 2 * CLASS_SAMPLE + 2
    notes = "\n".join(result.notes)
    assert "guard_blocked" in notes and "guard block (injection:user)" in notes
    assert "guard redact (pii:email,pii:card)" in notes
    assert "appear 0 times in the ledger" in notes
    assert "random mix of its members" in notes  # the referee's verdict, whichever it is
    assert "class everyday: 40 questions" in notes
