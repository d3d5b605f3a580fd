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
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            part: dict[str, Any] = {"type": "text", "text": block.get("text", "")}
            if isinstance(block.get("cache_control"), dict):
                part["cache_control"] = block["cache_control"]
            parts.append(part)
        elif kind == "image":
            src = block.get("source") or {}
            url = (
                f"data:{src.get('media_type')};base64,{src.get('data')}"
                if src.get("type") == "base64"
                else src.get("url")
            )
            parts.append({"type": "image_url", "image_url": {"url": url}})
        elif kind == "tool_use":
            calls.append(
                {
                    "id": block.get("id"),
                    "type": "function",
                    "function": {
                        "name": block.get("name"),
                        "arguments": orjson.dumps(block.get("input") or {}).decode(),
                    },
                }
            )
        elif kind == "tool_result":
            inner = block.get("content")
            text = (
                inner
                if isinstance(inner, str)
                else "".join(b.get("text", "") for b in inner or [] if isinstance(b, dict))
            )
            results.append(
                {"role": "tool", "tool_call_id": block.get("tool_use_id"), "content": text}
            )
        elif kind in ("thinking", "redacted_thinking"):
            continue  # earlier reasoning is not replayed to an OpenAI-shaped upstream
        else:
            raise InputError(
                f"{where}.content[{i}].type: {kind!r} is not supported; accepted: text, image, "
                "tool_use, tool_result"
            )
    if all(p["type"] == "text" and "cache_control" not in p for p in parts):
        return "".join(p["text"] for p in parts), calls, results
    return parts, calls, results


def to_chat_request(body: dict[str, Any]) -> dict[str, Any]:
    """An inbound Anthropic Messages request as an OpenAI chat request (same `model`)."""
    if not isinstance(body.get("model"), str):
        raise InputError("model: required, a string naming a deployment", param="model")
    if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1:
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
    for key in ("temperature", "top_p", "top_k", "stream"):
        if body.get(key) is not None:
            out[key] = body[key]
    if body.get("stop_sequences"):
        out["stop"] = list(body["stop_sequences"])
    user = (body.get("metadata") or {}).get("user_id")
    if isinstance(user, str):
        out["user"] = user
    if body.get("tools"):
        out["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.get("name"),
                    "description": t.get("description", ""),
                    "parameters": t.get("input_schema") or {"type": "object", "properties": {}},
                },
            }
            for t in body["tools"]
        ]
        choice = body.get("tool_choice") or {}
        kind = choice.get("type")
        if kind == "tool":
            out["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
        elif kind in ("auto", "none", "any"):
            out["tool_choice"] = "required" if kind == "any" else kind
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
