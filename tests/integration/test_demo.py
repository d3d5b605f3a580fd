"""`unitcost demo` end to end on the replay portfolio: what the ledger says each model cost
equals what its provider billed for the recorded answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from unitcost.catalog.replay import load_replay_set
from unitcost.demo import REPLAY_MODELS, ROUTE, STRONG, routing_summary, run_demo


def test_demo_reads_back_the_providers_bills(tmp_path: Path) -> None:
    result = run_demo(f"sqlite:///{tmp_path}/ledger.db", local=False, log=lambda _: None)
    data = load_replay_set()
    for model in REPLAY_MODELS:
        s = result.deployments[model]
        answers = data.models[model]["answers"].values()
        assert s.requests == 258
        assert s.cost_usd == pytest.approx(sum(a["cost"] for a in answers), rel=1e-9)
        assert s.completion_tokens == sum(a["completion_tokens"] for a in answers)
        assert s.reasoning_tokens == sum(a["reasoning_tokens"] for a in answers)
        recorded_accuracy = sum(a["score"] for a in answers) / 258
        assert s.accuracy == pytest.approx(recorded_accuracy, abs=1 / 258 + 1e-9)
    auto = result.deployments[ROUTE]
    assert auto.requests == 258 and sum(auto.served.values()) == 258
    assert 0 < auto.cost_usd < result.deployments[STRONG].cost_usd
    assert "saved" in routing_summary(result)
    assert result.ledger_rows == 5 * 258
