"""Streams both ways: Anthropic Messages events ↔ OpenAI chat.completion.chunk events.

    to_chat = MessagesToChatStream(include_usage=True)
    for chunk in upstream_bytes:            # event: message_start / content_block_delta ...
        forward(to_chat.feed(chunk))        # data: {"object": "chat.completion.chunk", ...}
    forward(to_chat.close())

    to_messages = ChatToMessagesStream()    # the inverse, for the inbound /v1/messages

Anthropic's events: `message_start` (id, model, input usage), `content_block_start`,
`content_block_delta` (`text_delta`, `input_json_delta` for tool arguments,
`thinking_delta`, `signature_delta`), `content_block_stop`, `message_delta` (stop reason,
cumulative usage), `message_stop`, `ping` and `error`. Text becomes `delta.content`,
thinking `delta.reasoning_content`, each `tool_use` block a `tool_calls` entry with its own
index, the stop reason a `finish_reason`, and at `message_stop` the usage chunk (when asked
for) and `[DONE]`. An `error` event becomes OpenAI's `{"error": {...}}` event.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from unitcost.wire.anthropic import FINISH_REASONS, STOP_REASONS, chat_usage, messages_usage

__all__ = ["ChatToMessagesStream", "MessagesToChatStream", "sse_events"]


class _Splitter:
    """Complete SSE events out of a byte stream, as (event name, parsed data) pairs."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[tuple[str, Any]]:
        data = (self._buffer + chunk).replace(b"\r\n", b"\n")
        end = data.rfind(b"\n\n")
        if end < 0:
            self._buffer = data
            return []
        complete, self._buffer = data[: end + 2], data[end + 2 :]
        return sse_events(complete)

    def close(self) -> list[tuple[str, Any]]:
        rest, self._buffer = self._buffer, b""
        return sse_events(rest) if rest.strip() else []


def sse_events(data: bytes) -> list[tuple[str, Any]]:
    """(event, JSON data or the raw text) of each event in complete SSE text."""
    out: list[tuple[str, Any]] = []
    for block in data.replace(b"\r\n", b"\n").split(b"\n\n"):
        name, payload = "", []
        for line in block.split(b"\n"):
            if line.startswith(b"event:"):
                name = line[6:].strip().decode()
            elif line.startswith(b"data:"):
                payload.append(line[5:].strip())
        if not payload:
            continue
        raw = b"\n".join(payload)
        try:
            out.append((name, orjson.loads(raw)))
        except orjson.JSONDecodeError:
            out.append((name, raw.decode("utf-8", "replace")))
    return out


def _data(obj: Any) -> bytes:
    return b"data: " + orjson.dumps(obj) + b"\n\n"


class MessagesToChatStream:
    """Anthropic events in, OpenAI chunks out (the `anthropic` backend's streams)."""

    def __init__(self, include_usage: bool, created: int | None = None) -> None:
        self.include_usage = include_usage
        self.created = int(time.time()) if created is None else created
        self.id, self.model = "msg", ""
        self.usage: dict[str, Any] = {}
        self.tools: dict[int, int] = {}  # content block index → tool_calls index
        self.done = False
        self._split = _Splitter()

    def feed(self, chunk: bytes) -> bytes:
        return b"".join(self._event(obj) for _, obj in self._split.feed(chunk))

    def close(self) -> bytes:
        return b"".join(self._event(obj) for _, obj in self._split.close())

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        return _data(
            {
                "id": self.id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
        )

    def _event(self, obj: Any) -> bytes:
        if not isinstance(obj, dict):
            return b""
        kind = obj.get("type")
        if kind == "message_start":
            message = obj.get("message") or {}
            self.id, self.model = str(message.get("id", self.id)), str(message.get("model", ""))
            self.usage.update(message.get("usage") or {})
            return self._chunk({"role": "assistant", "content": ""})
        if kind == "content_block_start":
            block = obj.get("content_block") or {}
            if block.get("type") == "tool_use":
                index = self.tools[obj.get("index", 0)] = len(self.tools)
                call = {
                    "index": index,
                    "id": block.get("id"),
                    "type": "function",
                    "function": {"name": block.get("name"), "arguments": ""},
                }
                return self._chunk({"tool_calls": [call]})
            if block.get("type") == "text" and block.get("text"):
                return self._chunk({"content": block["text"]})
            return b""
        if kind == "content_block_delta":
            delta = obj.get("delta") or {}
            dk = delta.get("type")
            if dk == "text_delta":
                return self._chunk({"content": delta.get("text", "")})
            if dk == "thinking_delta":
                return self._chunk({"reasoning_content": delta.get("thinking", "")})
            if dk == "input_json_delta":
                index = self.tools.get(obj.get("index", 0), 0)
                args = {"arguments": delta.get("partial_json", "")}
                return self._chunk({"tool_calls": [{"index": index, "function": args}]})
            return b""  # signature_delta, citations_delta: nothing OpenAI-shaped to say
        if kind == "message_delta":
            self.usage.update({k: v for k, v in (obj.get("usage") or {}).items() if v is not None})
            reason = (obj.get("delta") or {}).get("stop_reason")
            return self._chunk({}, FINISH_REASONS.get(reason, "stop")) if reason else b""
        if kind == "message_stop":
            self.done = True
            out = b""
            if self.include_usage:
                out = _data(
                    {
                        "id": self.id,
                        "object": "chat.completion.chunk",
                        "created": self.created,
                        "model": self.model,
                        "choices": [],
                        "usage": chat_usage(self.usage),
                    }
                )
            return out + b"data: [DONE]\n\n"
        if kind == "error":
            err = obj.get("error") or {}
            return _data(
                {
                    "error": {
                        "message": str(err.get("message", "upstream stream error")),
                        "type": str(err.get("type", "api_error")),
                        "param": None,
                        "code": None,
                    }
                }
            )
        return b""  # ping, and event types added later


class ChatToMessagesStream:
    """OpenAI chunks in, Anthropic events out (the inbound `/v1/messages` streams).

    OpenAI sends usage after the finish reason, so `message_delta` (stop reason and the
    cumulative usage, input and cache counts included) waits for `[DONE]` or close().
    """

    def __init__(self, message_id: str = "msg_unitcost") -> None:
        self.id = message_id
        self.started = False
        self.block: str | None = None  # the open content block's type
        self.index = -1
        self.tool_index: int | None = None
        self.stop_reason = "end_turn"
        self.usage: dict[str, Any] | None = None
        self.done = False
        self._split = _Splitter()

    def feed(self, chunk: bytes) -> bytes:
        return b"".join(self._event(obj) for _, obj in self._split.feed(chunk))

    def close(self) -> bytes:
        out = b"".join(self._event(obj) for _, obj in self._split.close())
        return out + (b"" if self.done or not self.started else self._finish())

    @staticmethod
    def _emit(name: str, obj: dict[str, Any]) -> bytes:
        return b"event: " + name.encode() + b"\n" + _data({"type": name, **obj})

    def _open(self, kind: str, block: dict[str, Any]) -> bytes:
        out = self._close_block()
        self.index += 1
        self.block = kind
        return out + self._emit(
            "content_block_start", {"index": self.index, "content_block": block}
        )

    def _close_block(self) -> bytes:
        if self.block is None:
            return b""
        self.block = None
        return self._emit("content_block_stop", {"index": self.index})

    def _start(self, model: str) -> bytes:
        self.started = True
        message: dict[str, Any] = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return self._emit("message_start", {"message": message})

    def _finish(self) -> bytes:
        self.done = True
        usage = messages_usage(self.usage)
        out = self._close_block()
        out += self._emit(
            "message_delta",
            {"delta": {"stop_reason": self.stop_reason, "stop_sequence": None}, "usage": usage},
        )
        return out + self._emit("message_stop", {})

    def _event(self, obj: Any) -> bytes:
        if obj == "[DONE]":
            return b"" if self.done or not self.started else self._finish()
        if not isinstance(obj, dict):
            return b""
        if obj.get("error"):
            err = obj["error"] if isinstance(obj["error"], dict) else {"message": obj["error"]}
            error = {
                "type": str(err.get("type") or "api_error"),
                "message": str(err.get("message")),
            }
            self.done = True
            return self._emit("error", {"error": error})
        out = b"" if self.started else self._start(str(obj.get("model", "")))
        if obj.get("usage"):
            self.usage = obj["usage"]
        for choice in obj.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("reasoning_content"):
                if self.block != "thinking":
                    out += self._open(
                        "thinking", {"type": "thinking", "thinking": "", "signature": ""}
                    )
                out += self._delta(
                    {"type": "thinking_delta", "thinking": delta["reasoning_content"]}
                )
            if delta.get("content"):
                if self.block != "text":
                    out += self._open("text", {"type": "text", "text": ""})
                out += self._delta({"type": "text_delta", "text": delta["content"]})
            for call in delta.get("tool_calls") or []:
                fn = call.get("function") or {}
                if (
                    call.get("id")
                    or self.block != "tool_use"
                    or call.get("index") != self.tool_index
                ):
                    self.tool_index = call.get("index")
                    block = {
                        "type": "tool_use",
                        "id": call.get("id"),
                        "name": fn.get("name"),
                        "input": {},
                    }
                    out += self._open("tool_use", block)
                if fn.get("arguments"):
                    out += self._delta(
                        {"type": "input_json_delta", "partial_json": fn["arguments"]}
                    )
            if choice.get("finish_reason"):
                self.stop_reason = STOP_REASONS.get(choice["finish_reason"], "end_turn")
        return out

    def _delta(self, delta: dict[str, Any]) -> bytes:
        return self._emit("content_block_delta", {"index": self.index, "delta": delta})
