"""Workload classes: sensitivity, SLO ordering from measured latency, start-up warnings."""

from __future__ import annotations

import pytest

from unitcost.routing.classes import (
    LatencyBoard,
    WorkloadClassConfig,
    build_classes,
    hosting_of,
)

DEPLOYMENTS = {
    "llama-vllm": ("openai", "self_hosted"),  # our GPUs behind an OpenAI-compatible server
    "llama-ollama": ("ollama", None),
    "claude": ("anthropic", "price_map"),
    "gpt": ("openai", "list_price"),
}


def config(**kw: object) -> WorkloadClassConfig:
    return WorkloadClassConfig.model_validate({"name": "c", **kw})


def test_hosting_comes_from_backend_and_price_unless_the_option_says() -> None:
    assert hosting_of("ollama", None).self_hosted
    assert hosting_of("openai", "self_hosted").open_weight
    assert not hosting_of("openai", "list_price").self_hosted
    assert not hosting_of("replay", None).self_hosted  # recorded answers of API models
    option = config(options=[{"deployment": "gpt", "hosting": "self_hosted", "open_weight": False}])
    h = hosting_of("openai", "list_price", option.option_list()[0])
    assert h.self_hosted and not h.open_weight


def test_pii_self_hosted_only_drops_api_options() -> None:
    classes, _ = build_classes(
        [
            config(
                sensitivity={"pii": "self_hosted_only"},
                options=["claude", "llama-vllm", "gpt", "llama-ollama"],
            )
        ],
        DEPLOYMENTS,
    )
    plan = classes["c"].plan({}, "acme", None)
    assert plan.candidates == ["llama-vllm", "llama-ollama"]
    assert "2 API options excluded" in plan.reason


def test_options_behind_the_slo_go_last_in_their_order() -> None:
    board = LatencyBoard()
    classes, _ = build_classes(
        [config(latency_slo={"ttft_p95_ms": 500}, options=["claude", "llama-vllm", "gpt"])],
        DEPLOYMENTS,
        board,
    )
    c = classes["c"]
    assert c.plan({}, "t", None).candidates == ["claude", "llama-vllm", "gpt"]  # nothing measured
    for _ in range(50):
        board.observe("claude", latency_ms=3000, ttft_ms=900)
        board.observe("llama-vllm", latency_ms=800, ttft_ms=120)
    plan = c.plan({}, "t", None)
    assert plan.candidates == ["llama-vllm", "gpt", "claude"]
    assert "llama-vllm (ttft p95 120 ms ≤ 500 ms)" in plan.reason
    assert "claude (ttft p95 900 ms > 500 ms)" in plan.reason


def test_p95_of_the_recent_window() -> None:
    board = LatencyBoard(window=20)
    for v in range(100):  # only the last 20 (80..99) count
        board.observe("d", latency_ms=float(v))
    assert board.p95("d", "latency") == 99.0
    assert board.p95("d", "ttft") is None and board.p95("x", "latency") is None


def test_start_up_warnings_follow_the_seed_advice() -> None:
    _, warnings = build_classes(
        [
            WorkloadClassConfig(name="one", options=["claude"]),
            WorkloadClassConfig(name="api-only", options=["claude", "gpt"]),
            WorkloadClassConfig(name="good", options=["llama-vllm", "gpt"]),
        ],
        DEPLOYMENTS,
    )
    assert any(w.startswith("classes.one: 1 viable option") for w in warnings)
    assert any(w.startswith("classes.api-only: no open-weight option") for w in warnings)
    assert not any(w.startswith("classes.good") for w in warnings)


def test_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match=r"classes.c.options: 'nope' is not a deployment"):
        build_classes([config(options=["nope"])], DEPLOYMENTS)
    with pytest.raises(
        ValueError, match=r"classes.c: sensitivity pii: self_hosted_only leaves no option"
    ):
        build_classes(
            [config(sensitivity={"pii": "self_hosted_only"}, options=["claude"])], DEPLOYMENTS
        )
    with pytest.raises(ValueError, match="'gpt' is listed twice"):
        config(options=["gpt", {"deployment": "gpt"}])
