"""The cascade's answer checks: final answers, self-consistency, the learned verifier."""

from __future__ import annotations

import numpy as np

from unitcost.routing.cascade import (
    AnswerVerifier,
    DoubtMeter,
    answer_features,
    disagreement,
    final_answer,
)
from unitcost.routing.config import CascadeCheck
from unitcost.routing.policies import passes_check


def completion(text: str, reasoning: int = 0, visible: int = 50, model: str = "mini") -> dict:  # type: ignore[type-arg]
    return {
        "model": model,
        "choices": [{"message": {"content": text}, "finish_reason": "stop"}],
        "usage": {
            "completion_tokens": visible + reasoning,
            "completion_tokens_details": {"reasoning_tokens": reasoning},
        },
    }


def test_final_answers_in_the_forms_prompts_ask_for() -> None:
    assert final_answer("so it is the third.\n\nAnswer: $D") == "D"
    assert final_answer("Answer: (b)") == "B"
    assert final_answer("thus \\boxed{\\frac{1}{2}} and finally \\boxed{33}") == "33"
    assert final_answer("I am not sure.") is None


def test_self_consistency_compares_final_answers() -> None:
    assert disagreement(completion("Answer: C"), completion("... Answer: C")) is None
    assert disagreement(completion("Answer: C"), completion("Answer: A")) == (
        "two cheap answers disagree ('C' vs 'A')"
    )
    assert disagreement(completion("Answer: C"), completion("no idea")) == (
        "no final answer to compare"
    )


def test_effort_is_read_from_usage() -> None:
    row = dict(
        zip(
            ("final", "visible", "reasoning"),
            answer_features(completion("Answer: B", 900, 100)),
            strict=False,
        )
    )
    assert row["final"] == 1.0
    assert np.isclose(row["visible"], np.log1p(100)) and np.isclose(row["reasoning"], np.log1p(900))


def synthetic(rng: np.random.Generator, n: int = 400):  # type: ignore[no-untyped-def]
    """Model 'deep' reasons long and is usually right; 'quick' reasons little and is often
    wrong; within each model, a longer think than usual means a wrong answer more often."""
    rows, wrong, models = [], [], []
    for model, base, error in (("deep", 2000, 0.15), ("quick", 50, 0.45)):
        for _ in range(n):
            extra = rng.normal()
            is_wrong = rng.random() < error + 0.25 * np.tanh(extra)
            rows.append(answer_features(completion("Answer: A", int(base * np.exp(0.5 * extra)))))
            wrong.append(float(is_wrong))
            models.append(model)
    return np.asarray(rows), np.asarray(wrong), models


def test_the_verifier_reads_effort_against_the_models_own() -> None:
    rows, wrong, models = synthetic(np.random.default_rng(0))
    verifier = AnswerVerifier.fit(rows, wrong, models)
    reasoning = 2  # column of log_reasoning_tokens
    assert verifier.classifier.weights[reasoning] > 0  # within a model: longer → doubt
    deep = rows[np.asarray(models) == "deep"]
    doubts = verifier.doubts(deep, deep.mean(axis=0))
    order = np.argsort(deep[:, reasoning])
    assert doubts[order[-40:]].mean() > doubts[order[:40]].mean() + 0.1


def test_a_cascade_check_escalates_a_doubtful_answer(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rows, wrong, models = synthetic(np.random.default_rng(1))
    meter = DoubtMeter(AnswerVerifier.fit(rows, wrong, models))
    for _ in range(30):  # the model's usual answer: ~2,000 reasoning tokens
        meter.doubt(completion("Answer: A", 2000, model="deep"))
    usual = meter.doubt(completion("Answer: A", 2000, model="deep"))
    lost = meter.doubt(completion("Answer: A", 20000, model="deep"))
    assert lost > usual + 0.05
    # the shipped verifier through the route's check
    check = CascadeCheck(max_doubt=0.99)
    assert passes_check(check, completion("Answer: A", 100)) is None
    strict = CascadeCheck(max_doubt=0.0)
    assert (passes_check(strict, completion("Answer: A", 100)) or "").startswith(
        "verifier doubts the answer"
    )
