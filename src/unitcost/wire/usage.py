"""Reading what a call used: `usage` from a JSON body or a stream, else the model's tokenizer.

    meter = StreamMeter(drop_usage_chunk=True)
    for chunk in upstream_chunks:
        forward(meter.feed(chunk))      # complete SSE events, unchanged but for one
    forward(meter.close())
    meter.usage                         # the final chunk's usage, if the server sent one

The stream is not re-encoded: complete events go out as they came in. The one exception is
the usage-only chunk the gateway asked for on the client's behalf, dropped when the client
did not ask for it itself.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from unitcost.economics.pricing import TokenUsage
from unitcost.wire.tokens import Tokenizer

__all__ = ["StreamMeter", "estimate_usage", "usage_from_body"]


class StreamMeter:
    def __init__(self, drop_usage_chunk: bool) -> None:
        self.drop_usage_chunk = drop_usage_chunk
        self.usage: dict[str, Any] | None = None
        self.error: dict[str, Any] | None = None
        self.parts: list[str] = []
        self.first_token_at: float | None = None
        self.done = False  # `data: [DONE]` has gone by: the client has the whole answer
        self._buffer = b""

    def feed(self, chunk: bytes) -> bytes:
        data = self._buffer + chunk
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n")
        end = data.rfind(b"\n\n")
        if end < 0:
            self._buffer = data
            return b""
        complete, self._buffer = data[: end + 2], data[end + 2 :]
        return self._filter(complete)

    def close(self) -> bytes:
        rest, self._buffer = self._buffer, b""
        return self._filter(rest + b"\n\n") if rest.strip() else b""

    def _filter(self, complete: bytes) -> bytes:
        """Inspect every event; the bytes go on unchanged unless an event is dropped."""
        kept, dropped = [], False
        for event in complete.split(b"\n\n"):
            if not event:
                continue
            payload = _data(event)
            if payload is None or self._inspect(payload):
                kept.append(event + b"\n\n")
            else:
                dropped = True
        return b"".join(kept) if dropped else complete

    def _inspect(self, payload: bytes) -> bool:
        """Note what metering needs from one event; False drops the event."""
        if not payload.startswith(b"{"):
            self.done = self.done or payload == b"[DONE]"
            return True
        try:
            obj = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return True
        if obj.get("error"):
            self.error = obj["error"]
        choices = obj.get("choices") or []
        for choice in choices:
            delta = choice.get("delta") or {}
            for text in (delta.get("content"), delta.get("reasoning_content"), choice.get("text")):
                if text:
                    self._text(text)
            for call in delta.get("tool_calls") or []:
                args = (call.get("function") or {}).get("arguments")
                if args:
                    self._text(args)
        if obj.get("usage"):
            self.usage = obj["usage"]
            return not (self.drop_usage_chunk and not choices)
        return True

    def _text(self, text: str) -> None:
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()
        self.parts.append(text)


def _data(event: bytes) -> bytes | None:
    for line in event.split(b"\n"):
        if line.startswith(b"data:"):
            return line[5:].strip()
    return None


def usage_from_body(body: bytes) -> tuple[dict[str, Any] | None, str]:
    """(usage, generated text) of a JSON completion; the text is kept for estimation."""
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, ""
    if not isinstance(obj, dict):
        return None, ""
    usage = obj.get("usage")
    if usage:
        return usage, ""
    parts = []
    for choice in obj.get("choices") or []:
        message = choice.get("message") or {}
        parts.append(message.get("content") or choice.get("text") or "")
    return None, "".join(parts)


def estimate_usage(tokenizer: Tokenizer, request: dict[str, Any], generated: str) -> TokenUsage:
    """What a call used, counted with the model's tokenizer (marked estimated by the caller)."""
    if isinstance(request.get("messages"), list):
        prompt = tokenizer.count_chat(request["messages"])
    else:
        text = request.get("prompt") or request.get("input") or ""
        prompt = tokenizer.count(text if isinstance(text, str) else " ".join(map(str, text)))
    return TokenUsage(
        prompt_tokens=prompt, completion_tokens=tokenizer.count(generated) if generated else 0
    )
