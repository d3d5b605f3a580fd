"""An in-process upstream whose answers a test scripts: the gateway's stages without sockets.

    upstream = ScriptedUpstream.answer({"choices": [...], "usage": {...}})
    deployment = scripted_deployment("d", upstream, input_usd_per_m=1, output_usd_per_m=2)
    upstream.replies = [error(503), completion("ok")]   # consumed in order, then the last

Backend kind `scripted`: register it by importing this module. It is an instrument for
unit tests of the request path (gateway/pipeline.py and its stages), not a model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

from unitcost.gateway.upstreams.base import Call, Reply, Upstream
from unitcost.gateway.upstreams.registry import register
from unitcost.gateway.upstreams.replay import MemoryReply

__all__ = ["ScriptedUpstream", "completion", "error", "events", "stream"]

Handler = Callable[[Call], Reply]


def completion(text: str, prompt_tokens: int = 5, completion_tokens: int = 3) -> MemoryReply:
    return MemoryReply(
        200,
        orjson.dumps(
            {
                "id": "chatcmpl-scripted",
                "object": "chat.completion",
                "model": "scripted",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens},
            }
        ),
    )


def error(status: int, message: str = "scripted failure") -> MemoryReply:
    return MemoryReply(status, orjson.dumps({"error": {"message": message, "type": "x"}}))


Event = dict[str, Any] | bytes


def events(*payloads: Event | tuple[float, Event], delay_s: float = 0.0) -> MemoryReply:
    """A stream of `data:` events, each `delay_s` after the one before (or `(seconds, event)`
    for one event of its own pace); bytes go out as they are (for malformed streams)."""
    out = []
    for item in payloads:
        delay, p = item if isinstance(item, tuple) else (delay_s, item)
        data = p if isinstance(p, bytes) else b"data: " + orjson.dumps(p) + b"\n\n"
        out.append((delay, data))
    return MemoryReply(200, b"", out)


def stream(*pieces: str, usage: dict[str, int] | None = None, done: bool = True) -> MemoryReply:
    chunks: list[dict[str, Any] | bytes] = [
        {"choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]} for p in pieces
    ]
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    if usage is not None:
        chunks.append({"choices": [], "usage": usage})
    if done:
        chunks.append(b"data: [DONE]\n\n")
    return events(*chunks)


class ScriptedOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = "scripted"


@register("scripted")
class ScriptedUpstream(Upstream):
    Options = ScriptedOptions

    def __init__(self, deployment: str, options: Any) -> None:
        super().__init__(deployment, options)
        self.replies: list[Reply] = []
        self.calls: list[Call] = []
        self.handler: Handler | None = None

    async def send(self, call: Call) -> Reply:
        self.calls.append(call)
        if self.handler is not None:
            return self.handler(call)
        if not self.replies:
            return completion("scripted answer")
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
