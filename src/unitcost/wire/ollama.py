"""OpenAI ↔ Ollama's native API (`/api/chat`, `/api/generate`, `/api/embed`), NDJSON streams.

    native = to_ollama_chat(chat_body, model="llama3.2")     # POST /api/chat
    chat = chat_from_ollama(ollama_json)                     # an OpenAI chat.completion
    stream = OllamaToOpenAIStream("chat", include_usage=True)
    forward(stream.feed(ndjson_bytes))                       # OpenAI chunk events

Ollama counts what it evaluated: `prompt_eval_count` (the prompt; missing, or lower, when
the prompt was reused from its KV cache) and `eval_count` (every generated token, thinking
included). They become `prompt_tokens` and `completion_tokens`; a missing count is left
out rather than guessed, so the gateway falls back to the tokenizer and marks the row
estimated. Sampling fields move into `options` (`max_tokens` → `num_predict`); JSON mode
becomes `format`; images must be base64 data URLs (Ollama takes bytes, not URLs).
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from unitcost.errors import InputError

__all__ = [
    "OllamaToOpenAIStream",
    "chat_from_ollama",
    "completion_from_ollama",
    "embeddings_from_ollama",
    "error_to_openai",
    "ollama_usage",
    "to_ollama_chat",
    "to_ollama_embed",
    "to_ollama_generate",
]

#: OpenAI field → Ollama `options` field
_OPTIONS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "seed": "seed",
    "stop": "stop",
    "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
    "max_tokens": "num_predict",
    "max_completion_tokens": "num_predict",
}


def _options(body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, native in _OPTIONS.items():
        if body.get(key) is not None:
            value = body[key]
            out[native] = [value] if key == "stop" and isinstance(value, str) else value
    return out


def _common(body: dict[str, Any], model: str) -> dict[str, Any]:
    if (body.get("n") or 1) != 1:
        raise InputError("n: Ollama returns one choice; accepted: 1", param="n")
    out: dict[str, Any] = {"model": model, "stream": body.get("stream") is True}
    options = _options(body)
    if options:
        out["options"] = options
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_object":
        out["format"] = "json"
    elif fmt.get("type") == "json_schema":
        out["format"] = (fmt.get("json_schema") or {}).get("schema") or "json"
    for key in ("keep_alive", "think"):
        if key in body:
            out[key] = body[key]
    return out


def _content(content: Any, where: str) -> tuple[str, list[str]]:
    """OpenAI content as Ollama's (text, base64 images)."""
    if content is None or isinstance(content, str):
        return content or "", []
    if not isinstance(content, list):
        raise InputError(f"{where}.content: expected a string or a list of parts")
    text, images = [], []
    for i, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            text.append(str(part.get("text", "")))
        elif kind == "image_url":
            url = (part.get("image_url") or {}).get("url", "")
            head, _, data = str(url).partition(",")
            if not head.startswith("data:image/") or ";base64" not in head:
                raise InputError(
                    f"{where}.content[{i}].image_url.url: Ollama takes image bytes; "
                    "accepted: data:image/...;base64,..."
                )
            images.append(data)
        else:
            raise InputError(f"{where}.content[{i}].type: {kind!r}; accepted: text, image_url")
    return "".join(text), images


def to_ollama_chat(body: dict[str, Any], model: str) -> dict[str, Any]:
    """An OpenAI chat request as an Ollama `/api/chat` request."""
    messages = []
    for i, m in enumerate(body.get("messages") or []):
        where = f"messages[{i}]"
        role = m.get("role") if isinstance(m, dict) else None
        if role not in ("system", "developer", "user", "assistant", "tool"):
            raise InputError(f"{where}.role: {role!r}; accepted: system, user, assistant, tool")
        text, images = _content(m.get("content"), where)
        out: dict[str, Any] = {"role": "system" if role == "developer" else role, "content": text}
        if images:
            out["images"] = images
        calls = []
        for call in m.get("tool_calls") or []:
            fn = call.get("function") or {}
            args = fn.get("arguments") or "{}"
            try:
                parsed = orjson.loads(args) if isinstance(args, str) else args
            except orjson.JSONDecodeError:
                raise InputError(f"{where}.tool_calls: arguments are not valid JSON") from None
            calls.append({"function": {"name": fn.get("name"), "arguments": parsed}})
        if calls:
            out["tool_calls"] = calls
        if role == "tool" and m.get("name"):
            out["tool_name"] = m["name"]
        messages.append(out)
    native = {**_common(body, model), "messages": messages}
    if body.get("tools"):
        native["tools"] = body["tools"]  # Ollama takes OpenAI's tool shape as is
    return native


def to_ollama_generate(body: dict[str, Any], model: str) -> dict[str, Any]:
    """An OpenAI text completion request as an Ollama `/api/generate` request (raw prompt)."""
    prompt = body.get("prompt")
    if isinstance(prompt, list):
        if len(prompt) != 1 or not isinstance(prompt[0], str):
            raise InputError("prompt: Ollama completes one prompt per call", param="prompt")
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise InputError("prompt: expected a string", param="prompt")
    native = {**_common(body, model), "prompt": prompt, "raw": True}
    if isinstance(body.get("suffix"), str):
        native["suffix"] = body["suffix"]
    return native


def to_ollama_embed(body: dict[str, Any], model: str) -> dict[str, Any]:
    return {"model": model, "input": body.get("input")}


def ollama_usage(obj: dict[str, Any]) -> dict[str, Any] | None:
    """Ollama's counts as OpenAI usage; None when it sent none (the gateway then counts)."""
    prompt, generated = obj.get("prompt_eval_count"), obj.get("eval_count")
    if prompt is None and generated is None:
        return None
    prompt, generated = int(prompt or 0), int(generated or 0)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": generated,
        "total_tokens": prompt + generated,
    }


def _finish(obj: dict[str, Any], tools: bool) -> str:
    if obj.get("done_reason") == "length":
        return "length"
    return "tool_calls" if tools else "stop"


def _tool_calls(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "id": call.get("id") or f"call_{i}",
            "type": "function",
            "function": {
                "name": (call.get("function") or {}).get("name"),
                "arguments": orjson.dumps(
                    (call.get("function") or {}).get("arguments") or {}
                ).decode(),
            },
        }
        for i, call in enumerate(message.get("tool_calls") or [])
    ]


def chat_from_ollama(obj: dict[str, Any]) -> dict[str, Any]:
    message = obj.get("message") or {}
    calls = _tool_calls(message)
    reply: dict[str, Any] = {
        "role": "assistant",
        "content": message.get("content") or ("" if not calls else None),
    }
    if message.get("thinking"):
        reply["reasoning_content"] = message["thinking"]
    if calls:
        reply["tool_calls"] = calls
    out: dict[str, Any] = {
        "id": "chatcmpl-ollama",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": obj.get("model", ""),
        "choices": [{"index": 0, "message": reply, "finish_reason": _finish(obj, bool(calls))}],
    }
    usage = ollama_usage(obj)
    if usage is not None:
        out["usage"] = usage
    return out


def completion_from_ollama(obj: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": "cmpl-ollama",
        "object": "text_completion",
        "created": int(time.time()),
        "model": obj.get("model", ""),
        "choices": [
            {"index": 0, "text": obj.get("response", ""), "finish_reason": _finish(obj, False)}
        ],
    }
    usage = ollama_usage(obj)
    if usage is not None:
        out["usage"] = usage
    return out


def embeddings_from_ollama(obj: dict[str, Any]) -> dict[str, Any]:
    vectors = obj.get("embeddings")
    if not isinstance(vectors, list):
        raise InputError("ollama /api/embed answered without `embeddings`")
    prompt = int(obj.get("prompt_eval_count") or 0)
    return {
        "object": "list",
        "model": obj.get("model", ""),
        "data": [
            {"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)
        ],
        "usage": {"prompt_tokens": prompt, "total_tokens": prompt},
    }


def error_to_openai(status: int, body: bytes) -> dict[str, Any]:
    """Ollama's `{"error": "message"}` in OpenAI's error shape."""
    try:
        message = str(orjson.loads(body)["error"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        message = body[:300].decode("utf-8", "replace") or f"HTTP {status}"
    kind = "invalid_request_error" if 400 <= status < 500 else "server_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


class OllamaToOpenAIStream:
    """Ollama's NDJSON lines in, OpenAI chunk events out; `kind` is "chat" or "generate"."""

    def __init__(self, kind: str, include_usage: bool) -> None:
        self.kind = kind
        self.include_usage = include_usage
        self.created = int(time.time())
        self.started = False
        self.done = False
        self.tools = 0
        self._buffer = b""

    def feed(self, chunk: bytes) -> bytes:
        data = self._buffer + chunk
        end = data.rfind(b"\n")
        if end < 0:
            self._buffer = data
            return b""
        lines, self._buffer = data[:end], data[end + 1 :]
        return b"".join(self._line(line) for line in lines.split(b"\n") if line.strip())

    def close(self) -> bytes:
        rest, self._buffer = self._buffer, b""
        return self._line(rest) if rest.strip() else b""

    def _event(self, choice: dict[str, Any] | None, **extra: Any) -> bytes:
        chat = self.kind == "chat"
        obj: dict[str, Any] = {
            "id": "chatcmpl-ollama" if chat else "cmpl-ollama",
            "object": "chat.completion.chunk" if chat else "text_completion",
            "created": self.created,
            "model": extra.pop("model", ""),
            "choices": [] if choice is None else [{"index": 0, **choice}],
            **extra,
        }
        return b"data: " + orjson.dumps(obj) + b"\n\n"

    def _line(self, line: bytes) -> bytes:
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            return b""  # not a line of the protocol; the meter will see no usage for it
        if not isinstance(obj, dict):
            return b""
        if obj.get("error"):
            error = {
                "message": str(obj["error"]),
                "type": "server_error",
                "param": None,
                "code": None,
            }
            return b"data: " + orjson.dumps({"error": error}) + b"\n\n"
        model = str(obj.get("model", ""))
        out = b""
        if self.kind == "chat":
            message = obj.get("message") or {}
            delta: dict[str, Any] = {}
            if not self.started:
                delta["role"] = "assistant"
            if message.get("content") or not self.started:
                delta["content"] = message.get("content") or ""
            if message.get("thinking"):
                delta["reasoning_content"] = message["thinking"]
            calls = _tool_calls(message)
            if calls:
                delta["tool_calls"] = [{"index": self.tools + i, **c} for i, c in enumerate(calls)]
                self.tools += len(calls)
            self.started = True
            if delta:
                out += self._event({"delta": delta, "finish_reason": None}, model=model)
            if obj.get("done"):
                end = {"delta": {}, "finish_reason": _finish(obj, self.tools > 0)}
                out += self._event(end, model=model)
        else:
            text = obj.get("response") or ""
            reason = _finish(obj, False) if obj.get("done") else None
            if text or reason:
                out += self._event({"text": text, "finish_reason": reason}, model=model)
        if obj.get("done"):
            self.done = True
            usage = ollama_usage(obj)
            if self.include_usage and usage is not None:
                out += self._event(None, model=model, usage=usage)
            out += b"data: [DONE]\n\n"
        return out
