"""The Anthropic protocol fake, checked by the official `anthropic` SDK: what it sends parses."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from unitcost.testing import AnthropicProtocolServer, in_thread

anthropic = pytest.importorskip("anthropic")


@pytest.fixture
def server() -> Iterator[AnthropicProtocolServer]:
    with in_thread(AnthropicProtocolServer()) as s:
        yield s


def client(server: AnthropicProtocolServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.url, api_key="sk-test", max_retries=0)


def test_json_answer_parses_with_cache_usage(server: AnthropicProtocolServer) -> None:
    server.script.cache_read_tokens, server.script.cache_write_tokens = 1000, 200
    msg = client(server).messages.create(
        model="claude-sonnet-4-5",
        max_tokens=64,
        system=[{"type": "text", "text": "long", "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": "capital of France?"}],
    )
    assert msg.content[0].type == "text" and msg.content[0].text == server.script.text
    assert msg.stop_reason == "end_turn"
    u = msg.usage
    assert (u.input_tokens, u.cache_read_input_tokens, u.cache_creation_input_tokens) == (
        21,
        1000,
        200,
    )
    assert server.headers[-1]["anthropic-version"]


def test_stream_accumulates_text_thinking_and_tool_use(server: AnthropicProtocolServer) -> None:
    server.script.tool_call = ("lookup", {"city": "Paris", "n": 2})
    server.script.thinking = "The user wants a lookup."
    with client(server).messages.stream(
        model="claude-sonnet-4-5",
        max_tokens=64,
        thinking={"type": "enabled", "budget_tokens": 1024},
        tools=[{"name": "lookup", "input_schema": {"type": "object"}}],
        messages=[{"role": "user", "content": "look up Paris"}],
    ) as stream:
        kinds = [e.type for e in stream]
        final = stream.get_final_message()
    assert kinds[0] == "message_start" and "content_block_delta" in kinds
    assert [b.type for b in final.content] == ["thinking", "text", "tool_use"]
    assert final.content[0].thinking == server.script.thinking
    assert final.content[2].input == {"city": "Paris", "n": 2}
    assert final.stop_reason == "tool_use"
    assert final.usage.output_tokens == server.script.output_tokens


def test_errors_have_the_api_shape(server: AnthropicProtocolServer) -> None:
    server.script.fail_next, server.script.fail_status = 1, 529
    with pytest.raises(anthropic.APIStatusError) as info:
        client(server).messages.create(
            model="m", max_tokens=8, messages=[{"role": "user", "content": "x"}]
        )
    assert info.value.status_code == 529
    assert info.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]


def test_requests_are_checked_like_the_api_does(server: AnthropicProtocolServer) -> None:
    c = client(server)
    with pytest.raises(anthropic.BadRequestError, match="corresponding tool_use block"):
        c.messages.create(
            model="m",
            max_tokens=8,
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": "nope", "content": "1"}],
                }
            ],
        )
    too_many = [
        {"type": "text", "text": str(i), "cache_control": {"type": "ephemeral"}} for i in range(5)
    ]
    with pytest.raises(anthropic.BadRequestError, match="maximum of 4 blocks with cache_control"):
        c.messages.create(model="m", max_tokens=8, messages=[{"role": "user", "content": too_many}])
    keyless = httpx.post(
        server.url + "/v1/messages",
        headers={"anthropic-version": "2023-06-01"},
        json={"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "x"}]},
    )
    assert keyless.status_code == 401
    assert keyless.json()["error"]["type"] == "authentication_error"
