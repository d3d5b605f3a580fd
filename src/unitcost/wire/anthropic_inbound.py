"""Anthropic Messages → OpenAI chat, for clients of the gateway's inbound `/v1/messages`.

    chat_body = to_chat_request(messages_body)      # run it through the pipeline as chat
    message = to_anthropic_message(chat_completion)  # and answer in Messages' shape

The inverse of `wire/anthropic.py`: system blocks become a system message, `tool_use`
blocks tool calls, `tool_result` blocks tool messages (placed before the user's text, as
they answer the previous assistant turn), `cache_control` stays on the text parts it
marks, and usage is split back into input, cache writes and cache reads.
"""

from __future__ import annotations

from typing import Any

import orjson

from unitcost.errors import InputError
from unitcost.wire.anthropic import STOP_REASONS, messages_usage, tool_use_block

__all__ = ["to_anthropic_message", "to_chat_request"]


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise InputError(f"{where}: must be a string", param=where)
    return value


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(f"{where}: must be an object", param=where)
    return value


def _image_url(block: dict[str, Any], where: str) -> str:
    src = _object(block.get("source"), f"{where}.source")
    if src.get("type") == "base64":
        media = _text(src.get("media_type"), f"{where}.source.media_type")
        return f"data:{media};base64,{_text(src.get('data'), f'{where}.source.data')}"
    return _text(src.get("url"), f"{where}.source.url")


def _result_text(inner: Any, where: str) -> str:
    """A tool_result's content: a string, or a list of text blocks."""
    if inner is None or isinstance(inner, str):
        return inner or ""
    if not isinstance(inner, list):
        raise InputError(f"{where}: must be a string or a list of text blocks", param=where)
    texts = []
    for j, b in enumerate(inner):
        if isinstance(b, dict) and b.get("type", "text") == "text":
            texts.append(_text(b.get("text", ""), f"{where}[{j}].text"))
    return "".join(texts)


def _chat_content(
    content: Any, where: str
) -> tuple[Any, list[dict[str, Any]], list[dict[str, Any]]]:
    """Anthropic content as (OpenAI content, tool calls, tool results)."""
    if isinstance(content, str):
        return content, [], []
    if not isinstance(content, list):
        raise InputError(f"{where}.content: expected a string or a list of content blocks")
    parts: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for i, block in enumerate(content):
        at = f"{where}.content[{i}]"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            part: dict[str, Any] = {"type": "text", "text": _text(block.get("text"), f"{at}.text")}
            if isinstance(block.get("cache_control"), dict):
                part["cache_control"] = block["cache_control"]
            parts.append(part)
        elif kind == "image":
            parts.append({"type": "image_url", "image_url": {"url": _image_url(block, at)}})
        elif kind == "tool_use":
            tool_input = block.get("input")
            if tool_input is not None:
                _object(tool_input, f"{at}.input")
            calls.append(
                {
                    "id": _text(block.get("id"), f"{at}.id"),
                    "type": "function",
                    "function": {
                        "name": _text(block.get("name"), f"{at}.name"),
                        "arguments": orjson.dumps(tool_input or {}).decode(),
                    },
                }
            )
        elif kind == "tool_result":
            results.append(
                {
                    "role": "tool",
                    "tool_call_id": _text(block.get("tool_use_id"), f"{at}.tool_use_id"),
                    "content": _result_text(block.get("content"), f"{at}.content"),
                }
            )
        elif kind in ("thinking", "redacted_thinking"):
            continue  # earlier reasoning is not replayed to an OpenAI-shaped upstream
        else:
            raise InputError(
                f"{at}.type: {kind!r} is not supported; accepted: text, image, "
                "tool_use, tool_result"
            )
    if all(p["type"] == "text" and "cache_control" not in p for p in parts):
        return "".join(p["text"] for p in parts), calls, results
    return parts, calls, results


def to_chat_request(body: dict[str, Any]) -> dict[str, Any]:
    """An inbound Anthropic Messages request as an OpenAI chat request (same `model`)."""
    if not isinstance(body.get("model"), str):
        raise InputError("model: required, a string naming a deployment", param="model")
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise InputError("max_tokens: required, an integer ≥ 1", param="max_tokens")
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        raise InputError("messages: must be a non-empty array of messages", param="messages")
    messages: list[dict[str, Any]] = []
    system = body.get("system")
    if system:
        content, _, _ = _chat_content(system, "system")
        messages.append({"role": "system", "content": content})
    for i, m in enumerate(body["messages"]):
        where = f"messages[{i}]"
        role = m.get("role") if isinstance(m, dict) else None
        if role not in ("user", "assistant"):
            raise InputError(f"{where}.role: {role!r}; accepted: user, assistant")
        content, calls, results = _chat_content(m.get("content"), where)
        messages.extend(results)  # tool results answer the previous assistant turn first
        if role == "assistant":
            turn: dict[str, Any] = {"role": "assistant", "content": content or None}
            if calls:
                turn["tool_calls"] = calls
            messages.append(turn)
        elif content:
            messages.append({"role": "user", "content": content})
    out: dict[str, Any] = {
        "model": body["model"],
        "messages": messages,
        "max_tokens": body["max_tokens"],
    }
    for key in ("temperature", "top_p", "top_k"):
        value = body.get(key)
        if value is not None:
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise InputError(f"{key}: must be a number", param=key)
            out[key] = value
    if body.get("stream") is not None:
        if not isinstance(body["stream"], bool):
            raise InputError("stream: must be true or false", param="stream")
        out["stream"] = body["stream"]
    stops = body.get("stop_sequences")
    if stops is not None:
        if not isinstance(stops, list):
            raise InputError("stop_sequences: must be a list of strings", param="stop_sequences")
        if stops:  # an empty list asks for nothing
            out["stop"] = [_text(v, f"stop_sequences[{i}]") for i, v in enumerate(stops)]
    metadata = body.get("metadata")
    if metadata is not None:
        user = _object(metadata, "metadata").get("user_id")
        if isinstance(user, str):
            out["user"] = user
    choice = body.get("tool_choice")
    if choice is not None:
        _object(choice, "tool_choice")
    if body.get("tools") is not None:
        tools = _chat_tools(body["tools"], choice)
        if tools["tools"]:  # OpenAI refuses an empty `tools`; none is the same request
            out.update(tools)
    return out


def _chat_tools(tools: Any, choice: Any) -> dict[str, Any]:
    """Anthropic tools and tool_choice as OpenAI's `tools`, `tool_choice` and
    `parallel_tool_calls`."""
    if not isinstance(tools, list):
        raise InputError("tools: must be a list of tools", param="tools")
    out: dict[str, Any] = {"tools": []}
    for i, t in enumerate(tools):
        tool = _object(t, f"tools[{i}]")
        schema = tool.get("input_schema")
        if schema is not None:
            _object(schema, f"tools[{i}].input_schema")
        description = tool.get("description", "")
        out["tools"].append(
            {
                "type": "function",
                "function": {
                    "name": _text(tool.get("name"), f"tools[{i}].name"),
                    "description": _text(description, f"tools[{i}].description"),
                    "parameters": schema or {"type": "object", "properties": {}},
                },
            }
        )
    choice = choice or {}
    kind = choice.get("type")
    if kind == "tool":
        name = _text(choice.get("name"), "tool_choice.name")
        out["tool_choice"] = {"type": "function", "function": {"name": name}}
    elif kind in ("auto", "none", "any"):
        out["tool_choice"] = "required" if kind == "any" else kind
    elif kind is not None:
        raise InputError(
            f"tool_choice.type: {kind!r}; accepted: auto, any, tool, none",
            param="tool_choice.type",
        )
    if choice.get("disable_parallel_tool_use"):
        out["parallel_tool_calls"] = False
    return out


def to_anthropic_message(completion: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI chat.completion as an Anthropic Messages response."""
    choice = (completion.get("choices") or [{}])[0]
    msg = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    if msg.get("reasoning_content"):
        content.append({"type": "thinking", "thinking": msg["reasoning_content"], "signature": ""})
    if msg.get("content"):
        content.append({"type": "text", "text": msg["content"]})
    for call in msg.get("tool_calls") or []:
        block = tool_use_block(call, "choices[0].message.tool_calls")
        content.append(block)
    return {
        "id": str(completion.get("id") or "msg_unitcost"),
        "type": "message",
        "role": "assistant",
        "model": completion.get("model", ""),
        "content": content,
        "stop_reason": STOP_REASONS.get(choice.get("finish_reason") or "stop", "end_turn"),
        "stop_sequence": None,
        "usage": messages_usage(completion.get("usage")),
    }
