"""OpenAI ↔ Triton Inference Server's generate extension (KServe v2 HTTP/REST).

    native = to_generate_request(chat_body, "chat/completions", chat_format="llama3")
    # POST /v2/models/{model}/generate   or   /v2/models/{model}/generate_stream
    chat = chat_from_generate(triton_json)           # an OpenAI chat.completion
    stream = GenerateToOpenAIStream("chat", include_usage=True)

The generate extension takes the model's inputs as top-level JSON keys (`text_input`, and
for TensorRT-LLM's ensemble `max_tokens`, `stream`, ...) and request `parameters` (what
Triton's vLLM backend reads as sampling parameters); it answers the model's outputs as
keys (`text_output`, and where the model offers them `num_input_tokens`,
`num_output_tokens`, `finish_reason`); `generate_stream` sends one SSE `data:` event per
response, each `text_output` a delta. Errors are `{"error": "..."}`, in a stream too.

Triton takes text, not messages, so chat is rendered with a template (`chatml`,
`llama3`, or `plain`); it parses no tool calls, so `tools` are refused here (Triton's
OpenAI-compatible frontend does parse them: use the backend's `api: openai`). Token counts
come from `num_input_tokens`/`num_output_tokens` (the vLLM backend's
`return_num_input_tokens`/`return_num_output_tokens`); without them the gateway counts
with the deployment's tokenizer and marks the row estimated.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import orjson

from unitcost.errors import InputError
from unitcost.wire.anthropic_stream import sse_events

__all__ = [
    "CHAT_FORMATS",
    "ChatFormat",
    "GenerateToOpenAIStream",
    "chat_from_generate",
    "completion_from_generate",
    "error_to_openai",
    "render_chat",
    "to_generate_request",
]

ChatFormat = Literal["chatml", "llama3", "plain"]
#: name → (one turn, the assistant's opening, prefix)
CHAT_FORMATS: dict[str, tuple[str, str, str]] = {
    "chatml": ("<|im_start|>{role}\n{content}<|im_end|>\n", "<|im_start|>assistant\n", ""),
    "llama3": (
        "<|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|>",
        "<|start_header_id|>assistant<|end_header_id|>\n\n",
        "<|begin_of_text|>",
    ),
    "plain": ("{role}: {content}\n", "assistant:", ""),
}
_SAMPLING = ("temperature", "top_p", "top_k", "seed", "presence_penalty", "frequency_penalty")


def render_chat(messages: list[Any], chat_format: str) -> str:
    turn, opening, prefix = CHAT_FORMATS[chat_format]
    parts = [prefix]
    for i, m in enumerate(messages):
        content = m.get("content") if isinstance(m, dict) else None
        if isinstance(content, list):
            if any(not isinstance(p, dict) or p.get("type") != "text" for p in content):
                raise InputError(
                    f"messages[{i}].content: the triton generate backend takes text only"
                )
            content = "".join(str(p.get("text", "")) for p in content)
        parts.append(turn.format(role=m.get("role", "user"), content=content or ""))
    return "".join(parts) + opening


def to_generate_request(
    body: dict[str, Any],
    endpoint: str,
    chat_format: str = "chatml",
    sampling_as: Literal["parameters", "inputs"] = "parameters",
    count_tokens: bool = True,
) -> dict[str, Any]:
    """An OpenAI chat or completion request as a generate request body."""
    if body.get("tools"):
        raise InputError(
            "tools: the triton generate endpoint has no tool calling; accepted: no tools "
            "(or the triton backend with api: openai, whose frontend parses tool calls)",
            param="tools",
        )
    if (body.get("n") or 1) != 1:
        raise InputError("n: Triton generate returns one answer; accepted: 1", param="n")
    if endpoint == "chat/completions":
        text = render_chat(body.get("messages") or [], chat_format)
    else:
        prompt = body.get("prompt")
        prompt = prompt[0] if isinstance(prompt, list) and len(prompt) == 1 else prompt
        if not isinstance(prompt, str):
            raise InputError("prompt: Triton generate takes one string prompt", param="prompt")
        text = prompt
    sampling: dict[str, Any] = {k: body[k] for k in _SAMPLING if body.get(k) is not None}
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if limit is not None:
        sampling["max_tokens"] = limit
    stop = body.get("stop")
    if stop:
        sampling["stop"] = [stop] if isinstance(stop, str) else list(stop)
    sampling["stream"] = body.get("stream") is True
    out: dict[str, Any] = {"text_input": text}
    if sampling_as == "inputs":
        out.update({("stop_words" if k == "stop" else k): v for k, v in sampling.items()})
    else:
        out["parameters"] = sampling
        out["exclude_input_in_output"] = True
    if count_tokens:
        out.update(
            return_num_input_tokens=True, return_num_output_tokens=True, return_finish_reason=True
        )
    return out


def _scalar(value: Any) -> Any:
    """An output tensor of one element, as Triton's JSON shows it ([x] or x)."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def _count(obj: dict[str, Any], name: str) -> int | None:
    value = _scalar(obj.get(name))
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _usage(prompt: int | None, completion: int | None) -> dict[str, Any] | None:
    if prompt is None and completion is None:
        return None
    p, c = prompt or 0, completion or 0
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def _finish(obj: dict[str, Any]) -> str:
    return "length" if _scalar(obj.get("finish_reason")) == "length" else "stop"


def _text(obj: dict[str, Any]) -> str:
    value = _scalar(obj.get("text_output"))
    if not isinstance(value, str):
        raise InputError("triton answered without a text_output")
    return value


def chat_from_generate(obj: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": "chatcmpl-triton",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": obj.get("model_name", ""),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": _text(obj)},
                "finish_reason": _finish(obj),
            }
        ],
    }
    usage = _usage(_count(obj, "num_input_tokens"), _count(obj, "num_output_tokens"))
    if usage is not None:
        out["usage"] = usage
    return out


def completion_from_generate(obj: dict[str, Any]) -> dict[str, Any]:
    chat = chat_from_generate(obj)
    choice = chat["choices"][0]
    chat.update(id="cmpl-triton", object="text_completion")
    chat["choices"] = [
        {"index": 0, "text": choice["message"]["content"], "finish_reason": choice["finish_reason"]}
    ]
    return chat


def error_to_openai(status: int, body: bytes) -> dict[str, Any]:
    try:
        message = str(orjson.loads(body)["error"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        message = body[:300].decode("utf-8", "replace") or f"HTTP {status}"
    kind = "invalid_request_error" if 400 <= status < 500 else "server_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


class GenerateToOpenAIStream:
    """`generate_stream` events in, OpenAI chunk events out. Triton marks no last
    response, so the finish, usage and `[DONE]` go out when the stream closes."""

    def __init__(self, kind: str, include_usage: bool) -> None:
        self.chat = kind == "chat"
        self.include_usage = include_usage
        self.created = int(time.time())
        self.model = ""
        self.prompt: int | None = None
        self.completion: int | None = None
        self.finish = "stop"
        self.started = False
        self.failed = False
        self._buffer = b""

    def _event(self, choice: dict[str, Any] | None, **extra: Any) -> bytes:
        obj: dict[str, Any] = {
            "id": "chatcmpl-triton" if self.chat else "cmpl-triton",
            "object": "chat.completion.chunk" if self.chat else "text_completion",
            "created": self.created,
            "model": self.model,
            "choices": [] if choice is None else [{"index": 0, **choice}],
            **extra,
        }
        return b"data: " + orjson.dumps(obj) + b"\n\n"

    def feed(self, chunk: bytes) -> bytes:
        data = (self._buffer + chunk).replace(b"\r\n", b"\n")
        end = data.rfind(b"\n\n")
        if end < 0:
            self._buffer = data
            return b""
        complete, self._buffer = data[: end + 2], data[end + 2 :]
        return b"".join(self._response(obj) for _, obj in sse_events(complete))

    def _response(self, obj: Any) -> bytes:
        if not isinstance(obj, dict):
            return b""
        if "error" in obj:
            self.failed = True
            error = {
                "message": str(obj["error"]),
                "type": "server_error",
                "param": None,
                "code": None,
            }
            return b"data: " + orjson.dumps({"error": error}) + b"\n\n"
        self.model = str(obj.get("model_name", self.model))
        n_in, n_out = _count(obj, "num_input_tokens"), _count(obj, "num_output_tokens")
        if n_in is not None:
            self.prompt = n_in
        if n_out is not None:
            self.completion = (self.completion or 0) + n_out  # streamed counts are per response
        if "finish_reason" in obj:
            self.finish = _finish(obj)
        text = _scalar(obj.get("text_output"))
        text = text if isinstance(text, str) else ""
        if self.chat:
            delta: dict[str, Any] = {"content": text}
            if not self.started:
                delta["role"] = "assistant"
            self.started = True
            return (
                self._event({"delta": delta, "finish_reason": None})
                if text or delta.get("role")
                else b""
            )
        self.started = True
        return self._event({"text": text, "finish_reason": None}) if text else b""

    def close(self) -> bytes:
        rest, self._buffer = self._buffer, b""
        out = b"".join(self._response(obj) for _, obj in sse_events(rest)) if rest.strip() else b""
        if self.failed or not self.started:
            return out
        end = (
            {"delta": {}, "finish_reason": self.finish}
            if self.chat
            else {"text": "", "finish_reason": self.finish}
        )
        out += self._event(end)
        usage = _usage(self.prompt, self.completion)
        if self.include_usage and usage is not None:
            out += self._event(None, usage=usage)
        return out + b"data: [DONE]\n\n"
