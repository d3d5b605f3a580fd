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


def mmlu_sample(per_subject: int = 60, subjects: int = 16):  # type: ignore[no-untyped-def]
    mmlu = load_outcomes(DATA / "routellm-mmlu")
    assert len(mmlu) == 14037  # 14042 prompts less the 5 contaminated ones
    rng = np.random.default_rng(0)
    groups = np.asarray(mmlu.groups)
    keep = np.sort(
        np.concatenate(
            [
                rng.choice(np.flatnonzero(groups == g), per_subject, replace=False)
                for g in sorted(set(mmlu.groups))[:subjects]
            ]
        )
    )
    return mmlu.subset(keep)


def test_route_eval_on_unseen_subjects_reports_baselines_and_intervals() -> None:
    result = route_eval(mmlu_sample(), WEAK, STRONG, test_fraction=0.25, seed=0, reps=100)
    assert len(result.test_groups) == 4 and not set(result.test_groups) & set(result.train_groups)
    m = result.metrics
    assert set(m) == {"random", "length", "learned", "oracle"}
    assert m["oracle"]["APGR"] > max(m["learned"]["APGR"], m["length"]["APGR"])
    for band in result.bands.values():
        assert band.low <= band.value <= band.high
    s = result.saving
    assert s["threshold_from"] == "training prompts" and "RouteLLM paper" in s["cost_source"]
    assert s["saving_band"]["low"] <= s["saving_pct"] <= s["saving_band"]["high"]


def route_eval_cli(*args: str, data: str = "pricing-reversal") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "unitcost", "route-eval", "--data", str(DATA / data), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_saved_router_scores_another_dataset_without_retraining(tmp_path: Path) -> None:
    router = tmp_path / "router.json"
    proc = route_eval_cli(
        "--weak", "gpt-5-mini", "--strong", "gemini-3.1-pro-preview", "--split", "random",
        "--save-router", str(router), "--plot", str(tmp_path / "r.png"), "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data["metrics"]) == {"random", "length", "learned", "oracle"}
    assert "recorded provider cost" in data["saving"]["cost_source"]
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"
    loaded = LearnedRouter.load(router)
    assert loaded.meta["trained_on"][0]["pairs"] == [["gpt-5-mini", "gemini-3.1-pro-preview"]]
    assert 0.0 <= loaded.score("What is 2 + 2?") <= 1.0
    assert loaded.threshold(strong_share=0.2) >= loaded.threshold(strong_share=0.6)
    # the same file judged on another pair of the same data, then on MMLU: no training
    again = route_eval_cli(
        "--weak", "claude-haiku-4.5", "--strong", "gpt-5.2-high", "--router", str(router)
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "258 prompts scored by a saved router (no training)" in again.stdout
    assert "chosen on the router's training" in again.stdout
    assert all(len(line) <= 80 for line in again.stdout.splitlines()[1:12])


def test_repeats_on_a_small_split_do_not_crash() -> None:
    proc = route_eval_cli(
        "--weak", "gpt-5-mini", "--strong", "gpt-5.2-high", "--split", "random",
        "--test-fraction", "0.05", "--repeats", "4",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "APGR of learned over" in proc.stdout


def test_unknown_models_and_bad_data_are_explained() -> None:
    proc = route_eval_cli("--weak", "gpt-4", "--strong", "gpt-5-mini")
    assert proc.returncode == 2
    assert "model 'gpt-4' is not in pricing-reversal; accepted: MiniMax-M2.5, claude" in proc.stderr
