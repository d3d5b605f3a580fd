"""`/v1/messages`: clients built on the official `anthropic` SDK, metered like chat."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import TENANT_KEYS
from unitcost.testing import AnthropicProtocolServer, OpenAIProtocolServer, in_thread

anthropic = pytest.importorskip("anthropic")
CARD = {
    "list_price": {
        "input_usd_per_m": 3.0,
        "output_usd_per_m": 15.0,
        "cached_input_usd_per_m": 0.3,
        "cache_write_usd_per_m": 3.75,
        "source": "messages card",
    }
}
TOOL = {"name": "lookup", "description": "find a city", "input_schema": {"type": "object"}}


@pytest.fixture
def upstreams() -> Iterator[tuple[OpenAIProtocolServer, AnthropicProtocolServer]]:
    with in_thread(OpenAIProtocolServer()) as oai, in_thread(AnthropicProtocolServer()) as ant:
        yield oai, ant


@pytest.fixture
def gateway(run_gateway: Any, upstreams: Any) -> Any:
    oai, ant = upstreams
    return run_gateway(
        [
            {
                "name": "oai",
                "backend": "openai",
                "options": {"url": oai.url, "model": "m"},
                "price": CARD,
            },
            {
                "name": "claude",
                "backend": "anthropic",
                "options": {"url": ant.url, "model": "claude-sonnet-4-5", "api_key": "k"},
                "price": CARD,
            },
        ],
        port=0,
    )


def client(gateway: Any, key: str = TENANT_KEYS["acme"]) -> Any:
    return anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0)


def rows(gateway: Any, deployment: str, expect: int = 1) -> list[Any]:
    return [r for r in gateway.records(expect=expect) if r.deployment == deployment]


def test_a_message_through_an_openai_backend_is_metered(gateway: Any, upstreams: Any) -> None:
    oai, _ = upstreams
    msg = client(gateway).messages.create(
        model="oai",
        max_tokens=64,
        system="be brief",
        messages=[{"role": "user", "content": "capital?"}],
    )
    assert msg.type == "message" and msg.content[0].text == oai.script.text
    assert msg.stop_reason == "end_turn" and msg.id.startswith("msg_")
    assert (msg.usage.input_tokens, msg.usage.output_tokens) == (21, 9)
    sent = oai.requests[-1]
    system = sent["messages"][0]
    assert system["role"] == "system" and sent["max_tokens"] == 64
    # the system prompt arrives whole, with the guard's canary line after it
    assert system["content"].startswith("be brief\n\nConfidential marker uc-canary-")
    (row,) = rows(gateway, "oai")
    assert (row.status, row.prompt_tokens, row.completion_tokens) == ("ok", 21, 9)
    assert row.cost_nanos == 21 * 3_000 + 9 * 15_000 and row.tenant == "acme"


def test_cache_counts_survive_the_round_trip_to_an_anthropic_backend(
    gateway: Any, upstreams: Any
) -> None:
    _, ant = upstreams
    ant.script.cache_read_tokens, ant.script.cache_write_tokens = 2_000, 300
    msg = client(gateway).messages.create(
        model="claude",
        max_tokens=64,
        system=[{"type": "text", "text": "a long policy", "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": "q"}],
    )
    u = msg.usage
    assert (u.input_tokens, u.cache_read_input_tokens, u.cache_creation_input_tokens) == (
        21,
        2_000,
        300,
    )
    assert ant.requests[-1]["system"][0]["cache_control"] == {"type": "ephemeral"}
    (row,) = rows(gateway, "claude")
    assert (row.cached_tokens, row.cache_write_tokens) == (2_000, 300)
    assert row.cost_nanos == 21 * 3_000 + 2_000 * 300 + 300 * 3_750 + 9 * 15_000


def test_streams_and_tool_use_with_the_sdk_accumulator(gateway: Any, upstreams: Any) -> None:
    oai, ant = upstreams
    for server, model in ((oai, "oai"), (ant, "claude")):
        server.script.tool_call = ("lookup", {"city": "Paris"})
        with client(gateway).messages.stream(
            model=model,
            max_tokens=64,
            tools=[TOOL],
            messages=[{"role": "user", "content": "find Paris"}],
        ) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
        assert text == server.script.text
        assert [b.type for b in final.content] == ["text", "tool_use"]
        assert final.content[1].name == "lookup" and final.content[1].input == {"city": "Paris"}
        assert final.stop_reason == "tool_use"
        assert (final.usage.input_tokens, final.usage.output_tokens) == (21, 9)
        (row,) = rows(gateway, model)
        assert (row.stream, row.completion_tokens, row.tokens_estimated) == (True, 9, False)


def test_a_tool_result_turn_reaches_the_upstream_as_a_tool_message(
    gateway: Any, upstreams: Any
) -> None:
    oai, _ = upstreams
    client(gateway).messages.create(
        model="oai",
        max_tokens=32,
        tools=[TOOL],
        messages=[
            {"role": "user", "content": "find Paris"},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "t1", "name": "lookup", "input": {"city": "Paris"}}
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "48.86N"}],
            },
        ],
    )
    sent = oai.requests[-1]["messages"]
    assert sent[1]["tool_calls"][0]["function"]["name"] == "lookup"
    assert sent[2] == {"role": "tool", "tool_call_id": "t1", "content": "48.86N"}


def test_errors_come_back_in_anthropic_shape(gateway: Any, upstreams: Any) -> None:
    oai, _ = upstreams
    with pytest.raises(anthropic.NotFoundError) as missing:
        client(gateway).messages.create(
            model="nope", max_tokens=8, messages=[{"role": "user", "content": "x"}]
        )
    assert (
        missing.value.body["type"] == "error" and "nope" in missing.value.body["error"]["message"]
    )
    with pytest.raises(anthropic.AuthenticationError):
        client(gateway, key="sk-wrong").messages.create(
            model="oai", max_tokens=8, messages=[{"role": "user", "content": "x"}]
        )
    oai.script.fail_next, oai.script.fail_status = 1, 500
    with pytest.raises(anthropic.APIStatusError) as upstream:
        client(gateway).messages.create(
            model="oai", max_tokens=8, messages=[{"role": "user", "content": "x"}]
        )
    assert (
        upstream.value.status_code == 502
        and upstream.value.body["error"]["type"] == "upstream_error"
    )
    bad = httpx.post(
        gateway.url + "/v1/messages",
        headers={"x-api-key": TENANT_KEYS["acme"], "anthropic-version": "2023-06-01"},
        json={"model": "oai", "messages": [{"role": "user", "content": "x"}]},
    )
    assert bad.status_code == 400
    assert bad.json() == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "max_tokens: required, an integer ≥ 1",
        },
    }
    # refused before the pipeline, and still a zero-cost row for the tenant, naming the model
    refused = [r for r in gateway.records(expect=3) if r.status == "rejected"]
    assert [(r.tenant, r.requested, r.error) for r in refused if r.http_status == 400] == [
        ("acme", "oai", "invalid_request_error: max_tokens")
    ]


def test_the_anthropic_key_header_is_accepted(gateway: Any) -> None:
    ok = httpx.post(
        gateway.url + "/v1/messages",
        headers={"x-api-key": TENANT_KEYS["globex"], "anthropic-version": "2023-06-01"},
        json={"model": "oai", "max_tokens": 8, "messages": [{"role": "user", "content": "x"}]},
    )
    assert ok.status_code == 200 and ok.json()["type"] == "message"
    (row,) = rows(gateway, "oai")
    assert row.tenant == "globex"
