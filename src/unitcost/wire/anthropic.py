"""OpenAI chat ↔ Anthropic Messages: requests, responses, usage and errors, both ways.

    messages = to_messages_request(chat_body, model="claude-sonnet-4-5", default_max_tokens=4096)
    chat = to_chat_completion(anthropic_message)            # the answer, OpenAI-shaped

Pure functions over JSON-shaped dicts, shared by the gateway's `anthropic` backend, its
inbound `/v1/messages` endpoint and bench. The inbound direction (Messages → chat) is in
`wire/anthropic_inbound.py`; streams both ways in `wire/anthropic_stream.py`.

Usage: Anthropic's `input_tokens` excludes the prompt tokens read from or written to its
cache; OpenAI's `prompt_tokens` includes cached ones. So `prompt_tokens` = input +
cache_creation + cache_read, `prompt_tokens_details.cached_tokens` = cache_read, and the
writes travel as `cache_creation_input_tokens` (LiteLLM's name) so that each kind is priced
once, at its own rate. Requests the Messages API cannot express (n > 1, JSON mode) are
refused with an InputError naming the field, rather than silently changed.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from unitcost.errors import InputError

__all__ = [
    "FINISH_REASONS",
    "STOP_REASONS",
    "chat_usage",
    "error_to_anthropic",
    "error_to_openai",
    "messages_usage",
    "to_chat_completion",
    "to_messages_request",
    "tool_use_block",
]

#: Anthropic stop_reason → OpenAI finish_reason
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
#: OpenAI finish_reason → Anthropic stop_reason
STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
_PASSED = ("temperature", "top_p", "top_k", "thinking", "metadata", "service_tier")


def _text_blocks(content: Any, where: str) -> list[dict[str, Any]]:
    """OpenAI message content (a string or parts) as Anthropic content blocks."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise InputError(f"{where}.content: expected a string or a list of parts")
    blocks = []
    for i, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            block: dict[str, Any] = {"type": "text", "text": str(part.get("text", ""))}
        elif kind == "image_url":
            block = _image(part.get("image_url"), f"{where}.content[{i}]")
        else:
            raise InputError(
                f"{where}.content[{i}].type: {kind!r} is not supported by Anthropic Messages; "
                "accepted: text, image_url"
            )
        if isinstance(part.get("cache_control"), dict):
            block["cache_control"] = part["cache_control"]
        blocks.append(block)
    return blocks


def _image(image: Any, where: str) -> dict[str, Any]:
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str):
        raise InputError(f"{where}.image_url.url: expected a data: or http(s) URL")
    if url.startswith("data:"):
        head, _, data = url.partition(",")
        media = head[5:].split(";")[0]
        if ";base64" not in head or not media.startswith("image/"):
            raise InputError(f"{where}.image_url.url: accepted: data:image/...;base64,...")
        return {"type": "image", "source": {"type": "base64", "media_type": media, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def tool_use_block(call: dict[str, Any], where: str) -> dict[str, Any]:
    """An OpenAI tool call as an Anthropic `tool_use` block (arguments parsed)."""
    fn = call.get("function") or {}
    raw = fn.get("arguments") or "{}"
    try:
        args = orjson.loads(raw) if isinstance(raw, str) else raw
    except orjson.JSONDecodeError:
        raise InputError(f"{where}.function.arguments: not valid JSON") from None
    return {"type": "tool_use", "id": call.get("id"), "name": fn.get("name"), "input": args}


def to_messages_request(
    body: dict[str, Any], model: str, default_max_tokens: int
) -> dict[str, Any]:
    """An OpenAI chat request as an Anthropic Messages request for `model`."""
    if (body.get("n") or 1) != 1:
        raise InputError("n: Anthropic Messages returns one choice; accepted: 1", param="n")
    fmt = (body.get("response_format") or {}).get("type", "text")
    if fmt != "text":
        raise InputError(
            f"response_format: {fmt!r} is not supported by the anthropic backend; "
            "accepted: text (ask for JSON in the prompt, or use a tool)",
            param="response_format",
        )
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if turns and turns[-1]["role"] == role:  # Messages alternates roles: merge runs
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})

    for i, m in enumerate(body.get("messages") or []):
        where = f"messages[{i}]"
        role = m.get("role") if isinstance(m, dict) else None
        if role in ("system", "developer"):
            system.extend(_text_blocks(m.get("content"), where))
        elif role == "user":
            add("user", _text_blocks(m.get("content"), where))
        elif role == "assistant":
            blocks = _text_blocks(m.get("content"), where)
            for j, call in enumerate(m.get("tool_calls") or []):
                blocks.append(tool_use_block(call, f"{where}.tool_calls[{j}]"))
            add("assistant", blocks)
        elif role == "tool":
            content = m.get("content")
            result: dict[str, Any] = {
                "type": "tool_result",
                "tool_use_id": m.get("tool_call_id"),
                "content": content if isinstance(content, str) else _text_blocks(content, where),
            }
            add("user", [result])
        else:
            raise InputError(
                f"{where}.role: {role!r}; accepted: system, developer, user, assistant, tool"
            )
    out: dict[str, Any] = {
        "model": model,
        "max_tokens": body.get("max_completion_tokens")
        or body.get("max_tokens")
        or default_max_tokens,
        "messages": turns,
    }
    if system:
        out["system"] = system
    for key in _PASSED:
        if body.get(key) is not None:
            out[key] = body[key]
    if isinstance(body.get("user"), str) and "metadata" not in out:
        out["metadata"] = {"user_id": body["user"]}
    stop = body.get("stop")
    if stop:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if body.get("stream") is True:
        out["stream"] = True
    if body.get("tools"):
        out["tools"] = [_tool(t) for t in body["tools"]]
        choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
        if choice is not None:
            out["tool_choice"] = choice
    return out


def _tool(tool: dict[str, Any]) -> dict[str, Any]:
    fn = tool.get("function") or {}
    out = {
        "name": fn.get("name"),
        "input_schema": fn.get("parameters") or {"type": "object", "properties": {}},
    }
    if fn.get("description"):
        out["description"] = fn["description"]
    if isinstance(tool.get("cache_control"), dict):
        out["cache_control"] = tool["cache_control"]
    return out


def _tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    if choice is None and parallel is None:
        return None
    if isinstance(choice, dict):
        out = {"type": "tool", "name": (choice.get("function") or {}).get("name")}
    else:
        kind = {"auto": "auto", "none": "none", "required": "any", None: "auto"}.get(choice)
        if kind is None:
            raise InputError(
                f"tool_choice: {choice!r}; accepted: auto, none, required or a function",
                param="tool_choice",
            )
        out = {"type": kind}
    if parallel is False and out["type"] != "none":
        out["disable_parallel_tool_use"] = True
    return out


def chat_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Anthropic usage as OpenAI usage (see the module docstring for the arithmetic)."""
    fresh = int(usage.get("input_tokens") or 0)
    written = int(usage.get("cache_creation_input_tokens") or 0)
    read = int(usage.get("cache_read_input_tokens") or 0)
    output = int(usage.get("output_tokens") or 0)
    out: dict[str, Any] = {
        "prompt_tokens": fresh + written + read,
        "completion_tokens": output,
        "total_tokens": fresh + written + read + output,
        "prompt_tokens_details": {"cached_tokens": read},
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": read,
    }
    thinking = (usage.get("output_tokens_details") or {}).get("thinking_tokens")
    if thinking:
        out["completion_tokens_details"] = {"reasoning_tokens": int(thinking)}
    return out


def messages_usage(usage: dict[str, Any] | None) -> dict[str, Any]:
    """OpenAI usage as Anthropic usage: the inverse of `chat_usage`."""
    usage = usage or {}
    read = int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
    written = int(usage.get("cache_creation_input_tokens") or 0)
    return {
        "input_tokens": max(0, int(usage.get("prompt_tokens") or 0) - read - written),
        "output_tokens": int(usage.get("completion_tokens") or 0),
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": read,
    }


def to_chat_completion(message: dict[str, Any], created: int | None = None) -> dict[str, Any]:
    """An Anthropic Messages response as an OpenAI chat.completion."""
    text, thinking, calls = [], [], []
    for block in message.get("content") or []:
        kind = block.get("type")
        if kind == "text":
            text.append(block.get("text", ""))
        elif kind == "thinking":
            thinking.append(block.get("thinking", ""))
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
    reply: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(text) if text or not calls else None,
    }
    if thinking:
        reply["reasoning_content"] = "".join(thinking)
    if calls:
        reply["tool_calls"] = calls
    return {
        "id": message.get("id", "msg"),
        "object": "chat.completion",
        "created": int(time.time()) if created is None else created,
        "model": message.get("model", ""),
        "choices": [
            {
                "index": 0,
                "message": reply,
                "finish_reason": FINISH_REASONS.get(message.get("stop_reason") or "", "stop"),
            }
        ],
        "usage": chat_usage(message.get("usage") or {}),
    }


def error_to_openai(status: int, body: bytes) -> dict[str, Any]:
    """Anthropic's `{"type": "error", "error": {type, message}}` in OpenAI's error shape."""
    try:
        obj = orjson.loads(body)
        err = obj["error"]
        message, kind = str(err["message"]), str(err.get("type") or "api_error")
    except (orjson.JSONDecodeError, KeyError, TypeError):
        message, kind = body[:300].decode("utf-8", "replace") or f"HTTP {status}", "api_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def error_to_anthropic(error: dict[str, Any]) -> dict[str, Any]:
    """OpenAI's error shape as Anthropic's."""
    inner = error.get("error")
    err: dict[str, Any] = inner if isinstance(inner, dict) else error
    return {
        "type": "error",
        "error": {"type": str(err.get("type") or "api_error"), "message": str(err.get("message"))},
    }
