"""A complete JSON completion re-sent as a server-sent-event stream.

Used where the answer exists before the client's stream starts: a cache hit, or a cascade
that had to read the cheap answer whole to check it. The client sees the chunks it expects:
role and content, a finish reason, usage if it asked for it, then `[DONE]`.
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["completion_to_sse"]


def _event(obj: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(obj) + b"\n\n"


def completion_to_sse(body: bytes, include_usage: bool) -> bytes:
    completion = orjson.loads(body)
    base = {
        "id": completion.get("id", "chatcmpl-unitcost"),
        "created": completion.get("created", 0),
        "model": completion.get("model", ""),
        "object": "chat.completion.chunk",
    }
    events = []
    for choice in completion.get("choices") or []:
        message = choice.get("message") or {}
        delta = {k: v for k, v in message.items() if v is not None}
        if "text" in choice:  # a text completion
            events.append(
                _event(
                    {
                        **base,
                        "object": "text_completion",
                        "choices": [
                            {
                                "index": choice.get("index", 0),
                                "text": choice["text"],
                                "finish_reason": choice.get("finish_reason"),
                            }
                        ],
                    }
                )
            )
            continue
        events.append(
            _event(
                {
                    **base,
                    "choices": [
                        {"index": choice.get("index", 0), "delta": delta, "finish_reason": None}
                    ],
                }
            )
        )
        events.append(
            _event(
                {
                    **base,
                    "choices": [
                        {
                            "index": choice.get("index", 0),
                            "delta": {},
                            "finish_reason": choice.get("finish_reason", "stop"),
                        }
                    ],
                }
            )
        )
    if include_usage and completion.get("usage"):
        events.append(_event({**base, "choices": [], "usage": completion["usage"]}))
    events.append(b"data: [DONE]\n\n")
    return b"".join(events)
