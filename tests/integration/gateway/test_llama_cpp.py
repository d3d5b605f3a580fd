"""The gateway in front of a real model server (SmolLM2-135M under llama.cpp's llama-server,
built by `unitcost engine install`), driven by the official openai SDK."""

from __future__ import annotations

import threading
import time

import pytest

from tests.conftest import RunningGateway, llama_deployment
from unitcost.engine.server import LocalModel
from unitcost.wire.tokens import load_tokenizer

MESSAGES = [{"role": "user", "content": "Name three colours."}]


@pytest.fixture
def gateway(run_gateway, llama_server: LocalModel) -> RunningGateway:  # type: ignore[no-untyped-def]
    return run_gateway(
        [
            llama_deployment(llama_server),
            llama_deployment(llama_server, name="smollm2-no-usage", include_usage=False),
        ]
    )


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
    # the ledger keeps integer nano-dollars per cost line: two lines, each rounded
    assert record.cost_usd == pytest.approx(expected, abs=2e-9)
    assert float(reply.headers["x-unitcost-cost-usd"]) == pytest.approx(expected, abs=2e-9)
    assert record.price_origin.startswith("economics: seed method")


def test_streams_carry_the_engines_usage(gateway: RunningGateway) -> None:
    client = gateway.client()
    plain = client.chat.completions.create(
        model="smollm2", messages=MESSAGES, max_tokens=16, temperature=0
    )
    stream = client.chat.completions.with_raw_response.create(
        model="smollm2", messages=MESSAGES, max_tokens=16, temperature=0, stream=True
    )
    chunks = list(stream.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain.choices[0].message.content
    assert all(c.usage is None for c in chunks)  # the client did not ask: hidden again
    (record,) = gateway.records(request_id=stream.headers["x-request-id"])
    assert not record.tokens_estimated and record.stream and record.status == "ok"
    assert record.prompt_tokens == plain.usage.prompt_tokens
    assert record.completion_tokens == plain.usage.completion_tokens
    assert record.ttft_ms is not None and 0 < record.ttft_ms <= record.latency_ms


def test_streams_without_usage_are_counted_with_the_models_tokenizer(
    gateway: RunningGateway,
) -> None:
    client = gateway.client()
    plain = client.chat.completions.create(
        model="smollm2-no-usage", messages=MESSAGES, max_tokens=16, temperature=0
    )
    stream = client.chat.completions.with_raw_response.create(
        model="smollm2-no-usage", messages=MESSAGES, max_tokens=16, temperature=0, stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream.parse() if c.choices)
    assert text == plain.choices[0].message.content
    (record,) = gateway.records(request_id=stream.headers["x-request-id"])
    assert record.tokens_estimated and record.stream and record.status == "ok"
    # llama.cpp renders the chat template the GGUF carries; so does the gateway's tokenizer.
    assert record.prompt_tokens == plain.usage.prompt_tokens
    assert record.completion_tokens == plain.usage.completion_tokens


def test_a_long_prompt_is_served_and_counted_exactly(
    gateway: RunningGateway, llama_server: LocalModel
) -> None:
    # An engine built for instructions this CPU lacks survived short prompts and died on the
    # first long one (SIGSEGV); this prompt is ~1,500 tokens, near the slot's 2,048.
    words = " ".join(f"w{i} alpha{i % 7} beta" for i in range(220))
    messages = [{"role": "user", "content": f"Count the words: {words}"}]
    tok = load_tokenizer(f"gguf:{llama_server.gguf}")
    expected = tok.count_chat(messages)
    assert 1200 < expected < 2000
    reply = gateway.client().chat.completions.create(
        model="smollm2", messages=messages, max_tokens=8, temperature=0
    )
    assert reply.choices[0].message.content is not None
    assert reply.usage.prompt_tokens == expected
    assert llama_server.proc.poll() is None  # still running


def test_concurrent_streams_are_batched_not_queued(
    gateway: RunningGateway, llama_server: LocalModel
) -> None:
    assert llama_server.parallel >= 2
    client = gateway.client()
    first_token: dict[str, float] = {}
    ended: dict[str, float] = {}

    def one(name: str) -> None:
        for chunk in client.chat.completions.create(
            model="smollm2",
            messages=[{"role": "user", "content": f"Write a long story about {name}."}],
            max_tokens=96,
            temperature=0,
            stream=True,
            extra_body={"ignore_eos": True},
        ):
            if chunk.choices and chunk.choices[0].delta.content and name not in first_token:
                first_token[name] = time.perf_counter()
        ended[name] = time.perf_counter()

    a = threading.Thread(target=one, args=("a lighthouse",))
    b = threading.Thread(target=one, args=("a harbour",))
    a.start()
    time.sleep(0.3)
    b.start()
    a.join()
    b.join()
    # a server that serialised requests would start b only after a's 96 tokens
    assert first_token["a harbour"] < ended["a lighthouse"]


def test_text_completions_pass_through(gateway: RunningGateway) -> None:
    completion = gateway.client().completions.create(
        model="smollm2", prompt="The sky is", max_tokens=8, temperature=0
    )
    assert completion.choices[0].text
    (record,) = [r for r in gateway.records() if r.endpoint == "completions"]
    assert record.prompt_tokens == completion.usage.prompt_tokens
    assert record.completion_tokens == completion.usage.completion_tokens


def test_models_lists_deployments_with_their_price_origin(gateway: RunningGateway) -> None:
    models = {m.id: m for m in gateway.client().models.list().data}
    assert set(models) == {"smollm2", "smollm2-no-usage"}
    extra = models["smollm2"].model_extra["unitcost"]
    assert extra["backend"] == "openai"
    assert extra["price"]["origin"].startswith("economics: seed method")
    assert extra["price"]["output_usd_per_m"] == pytest.approx(0.0816 / (40 * 3600) * 1e6)
