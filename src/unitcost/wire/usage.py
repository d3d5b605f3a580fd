"""Reading what a call used: `usage` from a JSON body or a stream, checked, else a tokenizer.

    usage = parse_usage(obj.get("usage"))   # None unless every count is a non-negative int
    meter = StreamMeter(drop_usage_chunk=True)
    for chunk in upstream_chunks:
        forward(meter.feed(chunk))      # complete SSE events, unchanged but for one
    forward(meter.close())
    meter.usage                         # the final chunk's usage, if the server sent a valid one

Upstream numbers are input like any other: a negative, fractional or non-numeric count is
refused here (`meter.rejected_usage` says why), and the caller meters the call with the
model's tokenizer instead and marks the row estimated. The stream is not re-encoded:
complete events go out as they came in. The one exception is the usage-only chunk the
gateway asked for on the client's behalf, dropped when the client did not ask for it.
Events whose data is neither JSON nor `[DONE]` are counted in `malformed` and dropped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson

from unitcost.economics.pricing import TokenUsage
from unitcost.wire.tokens import Tokenizer

__all__ = [
    "Completion",
    "StreamMeter",
    "UsageError",
    "estimate_usage",
    "parse_usage",
    "read_completion",
]


class UsageError(ValueError):
    """An upstream's `usage` that cannot be billed from; the message says which count."""


def _count(obj: dict[str, Any], name: str, where: str = "usage") -> int:
    value = obj.get(name, 0)
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise UsageError(f"{where}.{name} is {value!r}; accepted: a non-negative integer")
    return value


def parse_usage(usage: Any) -> TokenUsage | None:
    """OpenAI `usage` as token counts; None when absent; UsageError when it is not valid."""
    if usage is None:
        return None
    if not isinstance(usage, dict):
        raise UsageError(f"usage is {type(usage).__name__}; accepted: an object of counts")
    prompt = usage.get("prompt_tokens_details") or {}
    completion = usage.get("completion_tokens_details") or {}
    if not isinstance(prompt, dict) or not isinstance(completion, dict):
        raise UsageError("usage.*_tokens_details must be objects")
    return TokenUsage(
        prompt_tokens=_count(usage, "prompt_tokens"),
        completion_tokens=_count(usage, "completion_tokens"),
        cached_tokens=_count(prompt, "cached_tokens", "usage.prompt_tokens_details"),
        reasoning_tokens=_count(completion, "reasoning_tokens", "usage.completion_tokens_details"),
        cache_write_tokens=_count(usage, "cache_creation_input_tokens"),
    )


class StreamMeter:
    def __init__(self, drop_usage_chunk: bool) -> None:
        self.drop_usage_chunk = drop_usage_chunk
        self.usage: TokenUsage | None = None
        self.rejected_usage: str | None = None  # why a usage chunk could not be billed from
        self.error: dict[str, Any] | None = None
        self.parts: list[str] = []
        self.first_token_at: float | None = None
        self.finished = False  # a finish_reason has gone by
        self.done = False  # `data: [DONE]` has gone by: the client has the whole answer
        self.malformed = 0  # events that were neither JSON nor [DONE]
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
        if payload == b"[DONE]":
            self.done = True
            return True
        try:
            obj = orjson.loads(payload)
        except orjson.JSONDecodeError:
            obj = None
        if not isinstance(obj, dict):
            self.malformed += 1
            return False
        if obj.get("error"):
            error = obj["error"]
            self.error = error if isinstance(error, dict) else {"message": str(error)[:200]}
        choices = obj.get("choices") or []
        if not isinstance(choices, list):
            self.malformed += 1
            return False
        for choice in choices:
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta") or {}
            if isinstance(delta, dict):
                for text in (delta.get("content"), delta.get("reasoning_content")):
                    if isinstance(text, str) and text:
                        self._text(text)
                for call in delta.get("tool_calls") or []:
                    args = (
                        (call.get("function") or {}).get("arguments")
                        if isinstance(call, dict)
                        else None
                    )
                    if isinstance(args, str) and args:
                        self._text(args)
            text = choice.get("text")
            if isinstance(text, str) and text:
                self._text(text)
            if choice.get("finish_reason"):
                self.finished = True
        if obj.get("usage"):
            try:
                self.usage = parse_usage(obj["usage"])
            except UsageError as exc:
                self.rejected_usage = str(exc)
            return not (self.drop_usage_chunk and not choices)
        return True

    def _text(self, text: str) -> None:
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()
        self.parts.append(text)

    @property
    def answered(self) -> bool:
        """Something a client can use has arrived: a token, a finish, or the end."""
        return self.first_token_at is not None or self.finished or self.done


def _data(event: bytes) -> bytes | None:
    for line in event.split(b"\n"):
        if line.startswith(b"data:"):
            return line[5:].strip()
    return None


@dataclass(frozen=True, slots=True)
class Completion:
    """A whole (non-streamed) answer as metering reads it."""

    obj: dict[str, Any]
    usage: TokenUsage | None  # None: absent, or refused (see `rejected_usage`)
    rejected_usage: str | None
    text: str  # the generated text, for estimating when there is no usage


def read_completion(body: bytes) -> Completion:
    """A whole completion's JSON, usage and generated text.

    Raises UsageError for a body that is not a JSON object (truncated, HTML, garbage): the
    caller answers 502. A usage block that is not valid is refused, not raised: the caller
    meters with the tokenizer.
    """
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"upstream body is not valid JSON ({exc.msg} at char {exc.pos})") from None
    if not isinstance(obj, dict):
        raise UsageError("upstream body is not a JSON object")
    parts = []
    for choice in obj.get("choices") or []:
        if not isinstance(choice, dict):
            continue
        message = choice.get("message") or {}
        content = message.get("content") if isinstance(message, dict) else None
        text = content if isinstance(content, str) else choice.get("text")
        parts.append(text if isinstance(text, str) else "")
    usage, rejected = None, None
    try:
        usage = parse_usage(obj.get("usage") or None)
    except UsageError as exc:
        rejected = str(exc)
    return Completion(obj, usage, rejected, "".join(parts))


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
