"""The replay backend: real recorded answers, billed at their real token counts."""

from __future__ import annotations

import time

import openai
import pytest

from unitcost.catalog.replay import load_replay_set

DATA = load_replay_set()
QID = "gpqa-001"
PROMPT = DATA.questions[QID]["prompt"]


@pytest.fixture
def gateway(run_gateway):  # type: ignore[no-untyped-def]
    return run_gateway(
        [
            {"name": "mini", "backend": "replay", "options": {"model": "gpt-5-mini"}},
            {
                "name": "mini-paced",
                "backend": "replay",
                "options": {"model": "gpt-5-mini", "tokens_per_s": 5000},
            },
        ]
    )


def test_replays_the_recorded_answer_at_its_recorded_cost(gateway) -> None:
    recorded = DATA.models["gpt-5-mini"]["answers"][QID]
    reply = gateway.client().chat.completions.create(
        model="mini", messages=[{"role": "user", "content": PROMPT}]
    )
    assert reply.choices[0].message.content == recorded["answer"]
    assert reply.usage.completion_tokens_details.reasoning_tokens == recorded["reasoning_tokens"]
    (r,) = gateway.records()
    assert (r.prompt_tokens, r.completion_tokens, r.reasoning_tokens) == (
        recorded["prompt_tokens"],
        recorded["completion_tokens"],
        recorded["reasoning_tokens"],
    )
    # the provider's bill for this answer, reproduced from usage × list price
    assert r.cost_usd == pytest.approx(recorded["cost"], rel=1e-9)
    assert r.price_origin.startswith("list price: OpenAI gpt-5-mini, as recorded 2026-02-28")


def test_streams_pace_reasoning_then_visible_tokens(gateway) -> None:
    recorded = DATA.models["gpt-5-mini"]["answers"][QID]
    started = time.perf_counter()
    chunks = list(
        gateway.client().chat.completions.create(
            model="mini-paced",
            messages=[{"role": "user", "content": PROMPT}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    elapsed = time.perf_counter() - started
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == recorded["answer"]
    assert chunks[-1].usage.completion_tokens == recorded["completion_tokens"]
    assert elapsed >= recorded["completion_tokens"] / 5000 * 0.9
    (r,) = gateway.records()
    assert r.ttft_ms >= recorded["reasoning_tokens"] / 5000 * 1000 * 0.9  # reasoning first


def test_unrecorded_prompt_is_a_400_that_says_what_can_be_answered(gateway) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        gateway.client().chat.completions.create(
            model="mini", messages=[{"role": "user", "content": "What is the capital of France?"}]
        )
    message = info.value.body["message"]
    assert "has no recording for this prompt" in message
    assert "the 60 AIME and 198 GPQA questions recorded in lchen001/pricing-reversal" in message
