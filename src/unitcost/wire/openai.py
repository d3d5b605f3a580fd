"""The OpenAI request dialect: endpoints, validation, and the text a request asks about.

    body = parse_request(raw_bytes, "chat/completions")   # InputError names the bad field
    prompt_text(body)      # the last user message (or a completion's prompt)
    conversation(body)     # every message as "role: text", one per line
    unstreamed(body)       # the same request as a non-streaming call

Validation checks the shape of what the gateway itself reads (model, messages, content
parts, stream, max_tokens, n, best_of, tools) and the types of the common sampling and
embedding options; every other field reaches the upstream untouched.
A malformed field gets one line that names it, says what was wrong and what is accepted.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from unitcost.errors import InputError

__all__ = [
    "ENDPOINTS",
    "content_text",
    "conversation",
    "error_message",
    "error_summary",
    "parse_request",
    "prompt_text",
    "unstreamed",
]

#: path → endpoint name, for the model endpoints the gateway proxies
ENDPOINTS = {
    "/v1/chat/completions": "chat/completions",
    "/v1/completions": "completions",
    "/v1/embeddings": "embeddings",
}
_REQUIRED = {"chat/completions": "messages", "completions": "prompt", "embeddings": "input"}
_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
_COUNTS = ("max_tokens", "max_completion_tokens")
#: choices per request: `n`, and `best_of` (completions generate, and bill, that many);
#: OpenAI's own ceiling for `n` is 128
_CHOICES, _MOST_CHOICES = ("n", "best_of"), 128
_NUMBERS = ("temperature", "top_p", "presence_penalty", "frequency_penalty")
_ENCODINGS = ("float", "base64")


def parse_request(raw: bytes, endpoint: str) -> dict[str, Any]:
    """The JSON body of a model request, with the fields the gateway reads checked."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"request body is not valid JSON ({exc.msg} at char {exc.pos})") from None
    if not isinstance(body, dict):
        raise InputError("request body must be a JSON object")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise InputError("model: required, a string naming a deployment or route", param="model")
    field = _REQUIRED[endpoint]
    if field not in body:
        raise InputError(f"{field}: required for /v1/{endpoint}", param=field)
    if field == "messages":
        _check_messages(body["messages"])
    elif field == "prompt":
        _check_text_or_list("prompt", body["prompt"])
    else:
        _check_text_or_list("input", body["input"])
    if "stream" in body and not isinstance(body["stream"], bool):
        raise InputError("stream: must be true or false", param="stream")
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise InputError("stream_options: must be an object or null", param="stream_options")
    for name in _COUNTS:
        value = body.get(name)
        if value is not None and (not _is_int(value) or value < 1):
            raise InputError(f"{name}: must be a positive integer (got {value!r})", param=name)
    for name in _CHOICES:
        value = body.get(name)
        if value is not None and (not _is_int(value) or not 1 <= value <= _MOST_CHOICES):
            raise InputError(
                f"{name}: must be an integer from 1 to {_MOST_CHOICES} (got {value!r})",
                param=name,
            )
    for name in _NUMBERS:
        value = body.get(name)
        if value is not None and (not isinstance(value, int | float) or isinstance(value, bool)):
            raise InputError(f"{name}: must be a number (got {value!r})", param=name)
    choice = body.get("tool_choice")
    if choice is not None and not isinstance(choice, str | dict):
        raise InputError("tool_choice: must be a string or an object", param="tool_choice")
    if endpoint == "embeddings":
        _check_embedding_options(body)
    if "user" in body and body["user"] is not None and not isinstance(body["user"], str):
        raise InputError("user: must be a string", param="user")
    tools = body.get("tools")
    if tools is not None:
        _check_tools(tools)
    return body


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_embedding_options(body: dict[str, Any]) -> None:
    dimensions = body.get("dimensions")
    if dimensions is not None and (not _is_int(dimensions) or dimensions < 1):
        raise InputError(
            f"dimensions: must be a positive integer (got {dimensions!r})", param="dimensions"
        )
    encoding = body.get("encoding_format")
    if encoding is not None and encoding not in _ENCODINGS:
        raise InputError(
            f"encoding_format: {encoding!r}; accepted: {', '.join(_ENCODINGS)}",
            param="encoding_format",
        )


def _check_messages(messages: Any) -> None:
    if not isinstance(messages, list) or not messages:
        raise InputError("messages: must be a non-empty array of messages", param="messages")
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            raise InputError(f"{where}: must be an object with role and content", param=where)
        role = m.get("role")
        if role not in _ROLES:
            raise InputError(
                f"{where}.role: {role!r} is not a role; accepted: {', '.join(_ROLES)}",
                param=f"{where}.role",
            )
        content = m.get("content")
        if content is None or isinstance(content, str):
            continue
        if not isinstance(content, list):
            raise InputError(
                f"{where}.content: must be a string, an array of content parts, or null",
                param=f"{where}.content",
            )
        for j, part in enumerate(content):
            _check_part(f"{where}.content[{j}]", part)


def _check_part(where: str, part: Any) -> None:
    if not isinstance(part, dict) or not isinstance(part.get("type"), str):
        raise InputError(f"{where}: must be an object with a string `type`", param=where)
    if part["type"] == "text" and not isinstance(part.get("text"), str):
        raise InputError(f"{where}.text: must be a string", param=f"{where}.text")
    if part["type"] == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else None
        if not isinstance(url, str):
            raise InputError(
                f"{where}.image_url: must be an object with a string `url`",
                param=f"{where}.image_url",
            )


def _check_text_or_list(name: str, value: Any) -> None:
    if isinstance(value, str):
        return
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return
    if isinstance(value, list) and value and all(_is_int(v) for v in value):
        return  # token ids
    raise InputError(
        f"{name}: must be a string, an array of strings or an array of token ids", param=name
    )


def _check_tools(tools: Any) -> None:
    if not isinstance(tools, list):
        raise InputError("tools: must be an array of tools", param="tools")
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise InputError(f"tools[{i}]: must be an object", param=f"tools[{i}]")
        function = tool.get("function")
        if tool.get("type", "function") == "function" and (
            not isinstance(function, dict) or not isinstance(function.get("name"), str)
        ):
            raise InputError(
                f"tools[{i}].function.name: required, a string", param=f"tools[{i}].function"
            )


def content_text(content: Any) -> str:
    """A message's content as text: a string, or the text parts of a list of parts."""
    if isinstance(content, list):
        return "".join(
            p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return "" if content is None else str(content)


def prompt_text(body: dict[str, Any]) -> str:
    """The text a request asks about: the last user message, or a completion prompt."""
    if isinstance(body.get("prompt"), str):
        return str(body["prompt"])
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            return content_text(message.get("content"))
    return ""


def conversation(body: dict[str, Any]) -> str:
    """Every message's text, for length rules and the semantic cache."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return prompt_text(body)
    return "\n".join(
        f"{m.get('role', '')}: {content_text(m.get('content'))}"
        for m in messages
        if isinstance(m, dict)
    )


def unstreamed(body: dict[str, Any]) -> dict[str, Any]:
    """The request as a non-streaming call, for answers that must be read whole first."""
    return {k: v for k, v in body.items() if k not in ("stream", "stream_options")}


def error_message(data: bytes) -> str:
    """An upstream error's own message, for the client who sent the request (never for the
    ledger or logs: it may quote the prompt)."""
    try:
        message = orjson.loads(data)["error"]["message"]
        return str(message)[:300]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return data[:300].decode("utf-8", "replace")


def error_summary(status: int, data: bytes) -> str:
    """What an upstream error says, without its message text: upstream messages often quote
    the prompt back, and prompts must not reach the ledger or logs. Type and code are kept."""
    kind = code = None
    try:
        error = orjson.loads(data).get("error")
        if isinstance(error, dict):
            kind, code = error.get("type"), error.get("code")
        elif isinstance(error, str):
            kind = "error"
    except (orjson.JSONDecodeError, AttributeError):
        kind = "non-JSON body"
    parts = [f"upstream answered {status}"]
    if isinstance(kind, str):
        parts.append(_identifier(kind))
    if isinstance(code, str | int):
        parts.append(f"code={_identifier(str(code))}")
    return " ".join(parts)


_IDENTIFIER = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def _identifier(value: str) -> str:
    """An error type or code as the ledger may keep it: identifier-like values only (an
    upstream can put anything there, the prompt included)."""
    return value if _IDENTIFIER.fullmatch(value) else "(not an identifier)"
