"""The gateway in front of a real model server (SmolLM2-135M under llama-cpp-python),
driven by the official openai SDK."""

from __future__ import annotations

import pytest

from tests.conftest import RunningGateway, llama_deployment
from unitcost.engine.server import LocalModel

MESSAGES = [{"role": "user", "content": "Name three colours."}]


@pytest.fixture
def gateway(run_gateway, llama_server: LocalModel) -> RunningGateway:  # type: ignore[no-untyped-def]
    return run_gateway([llama_deployment(llama_server)])


def test_non_streaming_ledger_tokens_equal_the_servers_usage(gateway: RunningGateway) -> None:
    client = gateway.client(
        default_headers={"x-unitcost-feature": "palette", "x-unitcost-cohort": "beta"}
    )
    reply = client.chat.completions.with_raw_response.create(
        model="smollm2", messages=MESSAGES, max_tokens=24, temperature=0, user="user-42"
    )
    completion = reply.parse()
    assert completion.choices[0].message.content
    (record,) = gateway.records(request_id=reply.headers["x-request-id"])
    assert record.prompt_tokens == completion.usage.prompt_tokens
    assert record.completion_tokens == completion.usage.completion_tokens
    assert not record.tokens_estimated
    assert (record.tenant, record.feature, record.cohort, record.end_user) == (
        "acme",
        "palette",
        "beta",
        "user-42",
    )
    assert record.deployment == "smollm2" and record.status == "ok" and record.http_status == 200
    card = gateway.app.portfolio.deployments["smollm2"].card
    expected = (
        record.prompt_tokens * card.input_usd_per_m
        + record.completion_tokens * card.output_usd_per_m
    ) / 1e6
    assert record.cost_usd == pytest.approx(expected, rel=1e-9)
    assert float(reply.headers["x-unitcost-cost-usd"]) == pytest.approx(expected, abs=1e-10)
    assert record.price_origin.startswith("economics: seed method")


def test_streams_without_usage_are_counted_with_the_models_tokenizer(
    gateway: RunningGateway,
) -> None:
    client = gateway.client()
    plain = client.chat.completions.create(
        model="smollm2", messages=MESSAGES, max_tokens=16, temperature=0
    )
    stream = client.chat.completions.with_raw_response.create(
        model="smollm2", messages=MESSAGES, max_tokens=16, temperature=0, stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream.parse() if c.choices)
    assert text == plain.choices[0].message.content
    (record,) = gateway.records(request_id=stream.headers["x-request-id"])
    assert record.tokens_estimated and record.stream and record.status == "ok"
    # llama.cpp renders the chat template the GGUF carries; so does the gateway's tokenizer.
    assert record.prompt_tokens == plain.usage.prompt_tokens
    assert record.completion_tokens == plain.usage.completion_tokens
    assert record.ttft_ms is not None and 0 < record.ttft_ms <= record.latency_ms


def test_text_completions_pass_through(gateway: RunningGateway) -> None:
    completion = gateway.client().completions.create(
        model="smollm2", prompt="The sky is", max_tokens=8, temperature=0
    )
    assert completion.choices[0].text
    (record,) = [r for r in gateway.records() if r.endpoint == "completions"]
    assert record.prompt_tokens == completion.usage.prompt_tokens
    assert record.completion_tokens == completion.usage.completion_tokens


def test_models_lists_deployments_with_their_price_origin(gateway: RunningGateway) -> None:
    models = gateway.client().models.list()
    (model,) = models.data
    assert model.id == "smollm2"
    extra = model.model_extra["unitcost"]
    assert extra["backend"] == "openai"
    assert extra["price"]["origin"].startswith("economics: seed method")
    assert extra["price"]["output_usd_per_m"] == pytest.approx(0.0816 / (40 * 3600) * 1e6)
