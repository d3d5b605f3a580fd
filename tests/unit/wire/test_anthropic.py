"""OpenAI chat ↔ Anthropic Messages translation, both ways, streams included."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from unitcost.errors import InputError
from unitcost.wire.anthropic import (
    chat_usage,
    messages_usage,
    to_chat_completion,
    to_messages_request,
)
from unitcost.wire.anthropic_inbound import to_anthropic_message, to_chat_request
from unitcost.wire.anthropic_stream import ChatToMessagesStream, MessagesToChatStream, sse_events

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "find a city",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
        },
    }
]


def test_request_maps_system_tools_results_images_and_cache_control() -> None:
    body = {
        "model": "gw-name",
        "messages": [
            {"role": "system", "content": "be brief"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "big doc", "cache_control": {"type": "ephemeral"}},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": '{"q": "x"}'},
                    },
                    {
                        "id": "c2",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": '{"q": "y"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "1"},
            {"role": "tool", "tool_call_id": "c2", "content": "2"},
        ],
        "tools": TOOLS,
        "tool_choice": "required",
        "parallel_tool_calls": False,
        "stop": "END",
        "temperature": 0.2,
        "user": "u-7",
    }
    out = to_messages_request(body, "claude-sonnet-4-5", 1024)
    assert out["model"] == "claude-sonnet-4-5" and out["max_tokens"] == 1024
    assert out["system"] == [{"type": "text", "text": "be brief"}]
    user, assistant, results = out["messages"]
    assert user["content"][0] == {
        "type": "text",
        "text": "big doc",
        "cache_control": {"type": "ephemeral"},
    }
    assert user["content"][1]["source"] == {
        "type": "base64",
        "media_type": "image/png",
        "data": "iVBO",
    }
    assert [b["input"] for b in assistant["content"]] == [{"q": "x"}, {"q": "y"}]
    assert results["role"] == "user"  # two tool messages merged into one user turn
    assert [b["tool_use_id"] for b in results["content"]] == ["c1", "c2"]
    assert out["tools"] == [
        {
            "name": "lookup",
            "input_schema": TOOLS[0]["function"]["parameters"],
            "description": "find a city",
        }
    ]
    assert out["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert out["stop_sequences"] == ["END"] and out["temperature"] == 0.2
    assert out["metadata"] == {"user_id": "u-7"}


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        ({"type": "function", "function": {"name": "lookup"}}, {"type": "tool", "name": "lookup"}),
    ],
)
def test_tool_choice(choice: Any, expected: dict[str, Any]) -> None:
    body = {"messages": [{"role": "user", "content": "x"}], "tools": TOOLS, "tool_choice": choice}
    assert to_messages_request(body, "m", 8)["tool_choice"] == expected


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"n": 2}, "n"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"tool_choice": "sometimes", "tools": TOOLS}, "tool_choice"),
    ],
)
def test_what_messages_cannot_express_is_refused_by_name(extra: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError, match=f"^{field}: "):
        to_messages_request({"messages": [{"role": "user", "content": "x"}], **extra}, "m", 8)


def test_usage_counts_cache_reads_and_writes_once_each() -> None:
    u = chat_usage(
        {
            "input_tokens": 10,
            "cache_creation_input_tokens": 300,
            "cache_read_input_tokens": 5000,
            "output_tokens": 40,
            "output_tokens_details": {"thinking_tokens": 12},
        }
    )
    assert u["prompt_tokens"] == 5310 and u["total_tokens"] == 5350
    assert u["prompt_tokens_details"] == {"cached_tokens": 5000}
    assert u["cache_creation_input_tokens"] == 300
    assert u["completion_tokens_details"] == {"reasoning_tokens": 12}
    assert messages_usage(u) == {
        "input_tokens": 10,
        "output_tokens": 40,
        "cache_creation_input_tokens": 300,
        "cache_read_input_tokens": 5000,
    }


def test_response_with_thinking_text_and_tool_use() -> None:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude",
        "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "s"},
            {"type": "text", "text": "Let me look."},
            {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "Paris"}},
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 3, "output_tokens": 7},
    }
    chat = to_chat_completion(message, created=1)
    choice = chat["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "Let me look."
    assert choice["message"]["reasoning_content"] == "hmm"
    call = choice["message"]["tool_calls"][0]
    assert call["id"] == "toolu_1" and orjson.loads(call["function"]["arguments"]) == {"q": "Paris"}
    back = to_anthropic_message(chat)
    assert [b["type"] for b in back["content"]] == ["thinking", "text", "tool_use"]
    assert back["stop_reason"] == "tool_use" and back["usage"]["input_tokens"] == 3


def _ev(name: str, **obj: Any) -> bytes:
    return b"event: %s\ndata: %s\n\n" % (name.encode(), orjson.dumps({"type": name, **obj}))


ANTHROPIC_STREAM = b"".join(
    [
        _ev(
            "message_start",
            message={
                "id": "msg_9",
                "model": "claude",
                "content": [],
                "usage": {
                    "input_tokens": 5,
                    "cache_read_input_tokens": 100,
                    "cache_creation_input_tokens": 20,
                    "output_tokens": 1,
                },
            },
        ),
        _ev("ping"),
        _ev("content_block_start", index=0, content_block={"type": "thinking", "thinking": ""}),
        _ev("content_block_delta", index=0, delta={"type": "thinking_delta", "thinking": "why"}),
        _ev("content_block_delta", index=0, delta={"type": "signature_delta", "signature": "s"}),
        _ev("content_block_stop", index=0),
        _ev("content_block_start", index=1, content_block={"type": "text", "text": ""}),
        _ev("content_block_delta", index=1, delta={"type": "text_delta", "text": "Hi"}),
        _ev("content_block_stop", index=1),
        _ev(
            "content_block_start",
            index=2,
            content_block={"type": "tool_use", "id": "t1", "name": "lookup", "input": {}},
        ),
        _ev(
            "content_block_delta",
            index=2,
            delta={"type": "input_json_delta", "partial_json": '{"q":'},
        ),
        _ev(
            "content_block_delta",
            index=2,
            delta={"type": "input_json_delta", "partial_json": '"P"}'},
        ),
        _ev("content_block_stop", index=2),
        _ev("message_delta", delta={"stop_reason": "tool_use"}, usage={"output_tokens": 33}),
        _ev("message_stop"),
    ]
)


def _chunks(data: bytes) -> list[Any]:
    return [obj for _, obj in sse_events(data)]


@pytest.mark.parametrize("split", [1, 7, len(ANTHROPIC_STREAM)])
def test_stream_translates_every_event_kind_whatever_the_chunking(split: int) -> None:
    t = MessagesToChatStream(include_usage=True, created=1)
    out = b"".join(
        t.feed(ANTHROPIC_STREAM[i : i + split]) for i in range(0, len(ANTHROPIC_STREAM), split)
    )
    out += t.close()
    chunks = _chunks(out)
    assert chunks[-1] == "[DONE]"
    deltas = [c["choices"][0]["delta"] for c in chunks[:-2]]
    assert deltas[0] == {"role": "assistant", "content": ""}
    assert "".join(d.get("reasoning_content", "") for d in deltas) == "why"
    assert "".join(d.get("content") or "" for d in deltas) == "Hi"
    calls = [c for d in deltas for c in d.get("tool_calls", [])]
    assert calls[0]["id"] == "t1" and calls[0]["function"]["name"] == "lookup"
    assert "".join(c["function"]["arguments"] for c in calls) == '{"q":"P"}'
    assert {c["index"] for c in calls} == {0}
    assert chunks[-3]["choices"][0]["finish_reason"] == "tool_calls"
    usage = chunks[-2]["usage"]
    assert chunks[-2]["choices"] == []
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (125, 33)
    assert usage["prompt_tokens_details"]["cached_tokens"] == 100
    assert usage["cache_creation_input_tokens"] == 20


def test_stream_error_event_becomes_an_openai_error_event() -> None:
    t = MessagesToChatStream(include_usage=False)
    out = t.feed(_ev("error", error={"type": "overloaded_error", "message": "Overloaded"}))
    assert _chunks(out) == [
        {
            "error": {
                "message": "Overloaded",
                "type": "overloaded_error",
                "param": None,
                "code": None,
            }
        }
    ]
    assert not t.done


def test_without_include_usage_no_usage_chunk() -> None:
    t = MessagesToChatStream(include_usage=False)
    chunks = _chunks(t.feed(ANTHROPIC_STREAM))
    assert not any(isinstance(c, dict) and "usage" in c for c in chunks)


def test_inbound_request_maps_back_to_chat() -> None:
    body = {
        "model": "gw",
        "max_tokens": 50,
        "system": "be brief",
        "messages": [
            {"role": "user", "content": "find Paris"},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "t1", "name": "lookup", "input": {"q": "Paris"}}
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": "48.8N"},
                    {"type": "text", "text": "and?"},
                ],
            },
        ],
        "tools": [{"name": "lookup", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "any"},
        "stop_sequences": ["X"],
    }
    chat = to_chat_request(body)
    roles = [m["role"] for m in chat["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "user"]
    assert chat["messages"][2]["tool_calls"][0]["function"]["name"] == "lookup"
    assert chat["messages"][3] == {"role": "tool", "tool_call_id": "t1", "content": "48.8N"}
    assert chat["tool_choice"] == "required" and chat["stop"] == ["X"] and chat["max_tokens"] == 50
    again = to_messages_request(chat, "claude", 8)  # and back: the same conversation
    assert again["messages"][1]["content"][0]["input"] == {"q": "Paris"}
    assert again["messages"][2]["content"][0]["tool_use_id"] == "t1"
    with pytest.raises(InputError, match="^max_tokens: required"):
        to_chat_request({"model": "gw", "messages": [{"role": "user", "content": "x"}]})


_BASE = {"model": "gw", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}


def _user(*blocks: Any) -> dict[str, Any]:
    return {**_BASE, "messages": [{"role": "user", "content": list(blocks)}]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**_BASE, "tools": "x"}, "tools"),
        ({**_BASE, "tools": [5]}, "tools[0]"),
        ({**_BASE, "tools": [{"name": 5}]}, "tools[0].name"),
        ({**_BASE, "tools": [{"name": "f"}], "tool_choice": "auto"}, "tool_choice"),
        ({**_BASE, "tools": [{"name": "f"}], "tool_choice": {"type": "all"}}, "tool_choice.type"),
        ({**_BASE, "tools": {}}, "tools"),
        ({**_BASE, "tools": 0}, "tools"),
        ({**_BASE, "stop_sequences": 0}, "stop_sequences"),
        ({**_BASE, "tool_choice": "auto"}, "tool_choice"),
        ({**_BASE, "metadata": "x"}, "metadata"),
        ({**_BASE, "stop_sequences": 5}, "stop_sequences"),
        ({**_BASE, "stop_sequences": [5]}, "stop_sequences[0]"),
        ({**_BASE, "temperature": "hot"}, "temperature"),
        ({**_BASE, "stream": "yes"}, "stream"),
        ({**_BASE, "max_tokens": True}, "max_tokens"),
        (_user({"type": "text", "text": 5}), "messages[0].content[0].text"),
        (_user({"type": "image", "source": "x"}), "messages[0].content[0].source"),
        (
            _user({"type": "tool_result", "tool_use_id": "t", "content": 5}),
            "messages[0].content[0].content",
        ),
        (_user({"type": "tool_use", "id": "t", "name": 5}), "messages[0].content[0].name"),
    ],
)
def test_inbound_fields_of_the_wrong_type_are_refused_by_name(
    body: dict[str, Any], field: str
) -> None:
    """Each of these crashed the translation with a 500 (found by a black-box probe)."""
    with pytest.raises(InputError) as caught:
        to_chat_request(body)
    assert caught.value.message.startswith(f"{field}:"), caught.value.message


def test_chat_chunks_become_events_the_anthropic_sdk_accumulates() -> None:
    anthropic_streaming = pytest.importorskip("anthropic.lib.streaming._messages")

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        obj = {
            "id": "c",
            "model": "m",
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return b"data: " + orjson.dumps(obj) + b"\n\n"

    usage = {
        "prompt_tokens": 120,
        "completion_tokens": 9,
        "prompt_tokens_details": {"cached_tokens": 100},
    }
    source = b"".join(
        [
            chunk({"role": "assistant", "content": ""}),
            chunk({"content": "Hel"}),
            chunk({"content": "lo"}),
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "t1",
                            "type": "function",
                            "function": {"name": "lookup", "arguments": ""},
                        }
                    ]
                }
            ),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"q": 1}'}}]}),
            chunk({}, "tool_calls"),
            b"data: " + orjson.dumps({"id": "c", "choices": [], "usage": usage}) + b"\n\n",
            b"data: [DONE]\n\n",
        ]
    )
    t = ChatToMessagesStream("msg_x")
    events = _chunks(t.feed(source) + t.close())
    snapshot = None
    bufs: dict[int, bytes] = {}
    for e in events:
        snapshot = anthropic_streaming.accumulate_event(
            event=e, current_snapshot=snapshot, json_bufs=bufs
        )
    assert snapshot is not None
    assert [b.type for b in snapshot.content] == ["text", "tool_use"]
    assert snapshot.content[0].text == "Hello" and snapshot.content[1].input == {"q": 1}
    assert snapshot.stop_reason == "tool_use"
    assert (
        snapshot.usage.input_tokens,
        snapshot.usage.cache_read_input_tokens,
        snapshot.usage.output_tokens,
    ) == (20, 100, 9)
