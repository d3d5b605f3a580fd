"""`unitcost route-eval` on the real outcome data in ../shared/data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import shared_data
from unitcost.routing.datasets import load_outcomes
from unitcost.routing.evaluate import route_eval
from unitcost.routing.learned import LearnedRouter

DATA = shared_data()
WEAK, STRONG = "mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview"

pytestmark = pytest.mark.skipif(DATA is None, reason="../shared/data is not present")


def test_learned_router_beats_random_on_unseen_subjects() -> None:
    mmlu = load_outcomes(DATA / "routellm-mmlu")
    assert len(mmlu) == 14037  # 14042 prompts less the 5 contaminated ones
    rng = np.random.default_rng(0)
    keep = np.sort(
        np.concatenate(
            [  # 80 prompts from each of 16 subjects: fast, still real
                rng.choice(np.flatnonzero(np.asarray(mmlu.groups) == g), 80, replace=False)
                for g in sorted(set(mmlu.groups))[:16]
            ]
        )
    )
    result = route_eval(mmlu.subset(keep), WEAK, STRONG, test_fraction=0.25, seed=0)
    assert len(result.test_groups) == 4 and not set(result.test_groups) & set(result.train_groups)
    m = result.metrics
    assert m["oracle"]["APGR"] > m["learned"]["APGR"] > m["random"]["APGR"] + 0.03
    assert m["learned"]["CPT(50%)"] < m["random"]["CPT(50%)"]
    assert result.saving["saving_pct"] > 0 and "RouteLLM paper" in result.saving["cost_source"]


def route_eval_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "unitcost",
            "route-eval",
            "--data",
            str(DATA / "pricing-reversal"),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_cli_on_recorded_costs_and_a_saved_router(tmp_path: Path) -> None:
    router = tmp_path / "router.json"
    proc = route_eval_cli(
        "--weak",
        "gpt-5-mini",
        "--strong",
        "gemini-3.1-pro-preview",
        "--split",
        "random",
        "--save-router",
        str(router),
        "--plot",
        str(tmp_path / "r.png"),
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data["metrics"]) == {"random", "learned", "oracle"}
    assert "recorded provider cost" in data["saving"]["cost_source"]
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"
    loaded = LearnedRouter.load(router)
    assert loaded.meta["weak"] == "gpt-5-mini"
    assert 0.0 <= loaded.score("What is 2 + 2?") <= 1.0
    assert loaded.threshold(strong_share=0.2) >= loaded.threshold(strong_share=0.6)


def test_unknown_models_and_bad_data_are_explained() -> None:
    proc = route_eval_cli("--weak", "gpt-4", "--strong", "gpt-5-mini")
    assert proc.returncode == 2
    assert "model 'gpt-4' is not in pricing-reversal; accepted: MiniMax-M2.5, claude" in proc.stderr
