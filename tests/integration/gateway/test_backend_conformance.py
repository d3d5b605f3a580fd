"""One conformance suite for every backend: the gateway end to end with the openai SDK.

Each backend runs against a local server of its own protocol (unitcost.testing's protocol
fakes, built from the providers' published wire formats) whose answer and usage are
scripted, so every assertion knows what the ledger must say: JSON, streams (usage hidden
unless asked), tools, usage and cost exact in the ledger, errors mapped (4xx relayed,
5xx → 502), and timeouts (first token → 504, between tokens → the stream ends in an error).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import openai
import pytest

from unitcost.testing import (
    AnthropicProtocolServer,
    OllamaProtocolServer,
    OpenAIProtocolServer,
    ProtocolServer,
    TritonProtocolServer,
    in_thread,
)

#: $/1M: input 3, cached read 0.3, cache write 3.75, output 15 → nano-dollars per token
CARD = {
    "input_usd_per_m": 3.0,
    "output_usd_per_m": 15.0,
    "cached_input_usd_per_m": 0.3,
    "cache_write_usd_per_m": 3.75,
    "source": "conformance card",
}
NANOS = {"input": 3_000, "read": 300, "write": 3_750, "output": 15_000}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Look a city up",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]
ASK = [{"role": "user", "content": "What is the capital of France?"}]


@dataclass
class Case:
    kind: str
    server: ProtocolServer
    options: dict[str, Any]
    tools: bool = True  # the protocol can carry tool calls
    cache_reads: bool = False  # its usage reports prompt tokens read from a cache
    cache_writes: bool = False  # ... and written to one
    extra: dict[str, Any] = field(default_factory=dict)

    def deployment(self, **timeouts: float) -> dict[str, Any]:
        options = dict(self.options)
        if timeouts:
            options["timeouts"] = timeouts
        return {
            "name": "dep",
            "backend": self.kind,
            "options": options,
            "price": {"list_price": CARD},
        }


def _case(name: str) -> tuple[Case, ProtocolServer]:
    if name == "openai":
        s: ProtocolServer = OpenAIProtocolServer()
        return Case("openai", s, {"model": "upstream-model"}, cache_reads=True), s
    if name == "anthropic":
        s = AnthropicProtocolServer()
        opts = {"model": "claude-sonnet-4-5", "api_key": "sk-ant-test"}
        return Case("anthropic", s, opts, cache_reads=True, cache_writes=True), s
    if name == "ollama":
        s = OllamaProtocolServer(models=("llama3.2",))
        return Case("ollama", s, {"model": "llama3.2"}), s
    if name == "triton":
        s = TritonProtocolServer(models=("vllm_model",))
        return Case("triton", s, {"model": "vllm_model", "chat_format": "llama3"}, tools=False), s
    s = OpenAIProtocolServer()  # Triton's OpenAI-compatible frontend speaks OpenAI's protocol
    return Case("triton", s, {"model": "llama-3.1-8b", "api": "openai"}, cache_reads=True), s


@pytest.fixture(params=["openai", "anthropic", "ollama", "triton", "triton-openai"])
def case(request: pytest.FixtureRequest) -> Iterator[Case]:
    c, server = _case(request.param)
    with in_thread(server):
        c.options["url"] = server.url
        yield c


@pytest.fixture
def gateway(run_gateway, case: Case):  # type: ignore[no-untyped-def]
    return run_gateway([case.deployment()], port=0)


def _rows(gateway: Any, expect: int = 1) -> list[Any]:
    return [r for r in gateway.records(expect=expect) if r.deployment == "dep"]


def _expected_nanos(case: Case) -> int:
    s = case.server.script
    return (
        s.input_tokens * NANOS["input"]
        + s.cache_read_tokens * NANOS["read"]
        + s.cache_write_tokens * NANOS["write"]
        + s.output_tokens * NANOS["output"]
    )


def test_json_answer_and_exact_usage_in_the_ledger(gateway: Any, case: Case) -> None:
    answer = gateway.client().chat.completions.create(model="dep", messages=ASK, max_tokens=50)
    script = case.server.script
    assert answer.choices[0].message.content == script.text
    assert answer.choices[0].finish_reason == "stop"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (21, 9)
    (row,) = _rows(gateway)
    assert (row.status, row.http_status, row.tokens_estimated) == ("ok", 200, False)
    assert (row.prompt_tokens, row.completion_tokens) == (
        script.prompt_tokens,
        script.output_tokens,
    )
    assert row.cost_nanos == _expected_nanos(case) == 21 * 3_000 + 9 * 15_000
    assert row.price_origin == "list price: conformance card"


def test_stream_passes_text_and_meters_usage_hidden_unless_asked(gateway: Any, case: Case) -> None:
    client = gateway.client()
    script = case.server.script
    chunks = list(client.chat.completions.create(model="dep", messages=ASK, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == script.text
    assert all(c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"
    asked = list(
        client.chat.completions.create(
            model="dep", messages=ASK, stream=True, stream_options={"include_usage": True}
        )
    )
    assert asked[-1].usage is not None and asked[-1].choices == []
    assert (asked[-1].usage.prompt_tokens, asked[-1].usage.completion_tokens) == (21, 9)
    rows = _rows(gateway, expect=2)
    assert len(rows) == 2
    for row in rows:
        assert (row.status, row.stream, row.tokens_estimated) == ("ok", True, False)
        assert (row.prompt_tokens, row.completion_tokens) == (21, 9)
        assert row.cost_nanos == _expected_nanos(case)
        assert row.ttft_ms is not None and row.ttft_ms <= row.latency_ms


def test_tool_calls_json_and_stream(gateway: Any, case: Case) -> None:
    case.server.script.tool_call = ("lookup", {"city": "Paris"})
    client = gateway.client()
    if not case.tools:
        with pytest.raises(openai.BadRequestError) as info:
            client.chat.completions.create(model="dep", messages=ASK, tools=TOOLS)
        assert info.value.body["param"] == "tools" and "tool calling" in info.value.body["message"]
        return
    answer = client.chat.completions.create(model="dep", messages=ASK, tools=TOOLS)
    (call,) = answer.choices[0].message.tool_calls
    assert call.function.name == "lookup" and json.loads(call.function.arguments) == {
        "city": "Paris"
    }
    assert answer.choices[0].finish_reason == "tool_calls"
    streamed = list(
        client.chat.completions.create(model="dep", messages=ASK, tools=TOOLS, stream=True)
    )
    calls = [t for c in streamed if c.choices for t in c.choices[0].delta.tool_calls or []]
    assert calls[0].function.name == "lookup" and calls[0].id
    assert json.loads("".join(t.function.arguments or "" for t in calls)) == {"city": "Paris"}
    rows = _rows(gateway, expect=2)
    assert [r.completion_tokens for r in rows] == [9, 9]  # streamed tool calls are metered too
    assert not any(r.tokens_estimated for r in rows)
    # the tool call goes back as the next turn: the upstream must accept the translation
    turn = [
        *ASK,
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "Paris: 48.86N 2.35E"},
    ]
    case.server.script.tool_call = None
    again = client.chat.completions.create(model="dep", messages=turn, tools=TOOLS)
    assert again.choices[0].message.content == case.server.script.text


def test_cache_reads_and_writes_are_priced_at_their_own_rates(run_gateway: Any, case: Case) -> None:
    if not case.cache_reads:
        pytest.skip(f"{case.kind} reports no cache counts in its protocol")
    s = case.server.script
    s.cache_read_tokens = 4_000
    s.cache_write_tokens = 1_200 if case.cache_writes else 0
    gateway = run_gateway([case.deployment()], port=0)
    for stream in (False, True):
        result = gateway.client().chat.completions.create(model="dep", messages=ASK, stream=stream)
        if stream:
            list(result)
    rows = _rows(gateway, expect=2)
    assert len(rows) == 2
    for row in rows:
        assert row.prompt_tokens == 21 + 4_000 + s.cache_write_tokens
        assert row.cached_tokens == 4_000 and row.cache_write_tokens == s.cache_write_tokens
        assert row.cost_cached_input_nanos == 4_000 * NANOS["read"]
        assert row.cost_cache_write_nanos == s.cache_write_tokens * NANOS["write"]
        assert row.cost_input_nanos == 21 * NANOS["input"]
        assert row.cost_nanos == _expected_nanos(case)


def test_client_errors_are_relayed_and_server_errors_are_502(gateway: Any, case: Case) -> None:
    client = gateway.client()
    case.server.script.fail_next, case.server.script.fail_status = 1, 400
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="dep", messages=ASK)
    assert "injected failure" in info.value.body["message"]  # the upstream's words
    case.server.script.fail_next = 1
    case.server.script.fail_status = 529 if case.kind == "anthropic" else 500
    with pytest.raises(openai.APIStatusError) as info5:
        client.chat.completions.create(model="dep", messages=ASK)
    assert info5.value.status_code == 502
    rows = sorted(_rows(gateway, expect=2), key=lambda r: r.ts)
    assert [r.status for r in rows] == ["upstream_rejected", "upstream_error"]
    assert all(r.cost_nanos == 0 for r in rows)


def test_first_token_timeout_is_504(run_gateway: Any, case: Case) -> None:
    gateway = run_gateway([case.deployment(first_token=0.3)], port=0)
    case.server.script.delay_s = 2.0
    with pytest.raises(openai.APIStatusError) as info:
        gateway.client().chat.completions.create(model="dep", messages=ASK)
    assert info.value.status_code == 504
    (row,) = _rows(gateway)
    assert row.status == "upstream_timeout"


def test_a_stalled_stream_ends_in_an_error_and_one_row(run_gateway: Any, case: Case) -> None:
    gateway = run_gateway([case.deployment(between_tokens=0.3)], port=0)
    case.server.script.stall_after_chunks = 3
    got: list[str] = []
    with contextlib.suppress(openai.APIError):
        for chunk in gateway.client().chat.completions.create(
            model="dep", messages=ASK, stream=True
        ):
            if chunk.choices:
                got.append(chunk.choices[0].delta.content or "")
    assert "".join(got) != case.server.script.text  # it did not finish
    (row,) = _rows(gateway)
    assert row.status == "upstream_timeout" and row.stream


def test_an_error_inside_the_stream_is_recorded(gateway: Any, case: Case) -> None:
    case.server.script.stream_error_after = 3
    with contextlib.suppress(openai.APIError):
        list(gateway.client().chat.completions.create(model="dep", messages=ASK, stream=True))
    (row,) = _rows(gateway)
    assert row.status == "upstream_error"
