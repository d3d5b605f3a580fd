"""`replay`: real recorded answers of real models, served with their real token counts.

    deployments:
      - name: gpt-5-mini
        backend: replay
        options: {model: gpt-5-mini, tokens_per_s: 150}

The shipped set (unitcost/data/replay.json.gz, built by tools/build_replay_data.py from
lchen001/pricing-reversal, MIT) holds the GPQA and AIME answers of four current models,
with the prompt, completion and reasoning tokens their providers billed. A prompt with no
recording gets a 400 that says what can be answered. Streams pace tokens at `tokens_per_s`,
reasoning tokens first (they delay the first visible token, as they do upstream).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from unitcost.catalog.replay import load_replay_set, normalise_prompt
from unitcost.economics.pricing import PriceCard
from unitcost.errors import InputError
from unitcost.gateway.upstreams.base import Call, Reply, Upstream
from unitcost.gateway.upstreams.registry import register
from unitcost.wire.openai import prompt_text

__all__ = ["ReplayBackend"]


class ReplayOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    model: str
    tokens_per_s: float = Field(0.0, ge=0, description="0 answers at once")
    data: str | None = None


class MemoryReply:
    """A reply built in memory, streamed at a given pace."""

    def __init__(self, status: int, body: bytes, events: list[tuple[float, bytes]] | None = None):
        self.status = status
        self.content_type = b"text/event-stream" if events is not None else b"application/json"
        self._body = body
        self._events = events
        self._aborted = False

    async def read(self, timeout: float | None = None) -> bytes:
        return self._body

    async def chunks(self, timeout: float | None = None) -> AsyncIterator[bytes]:
        if self._events is None:
            yield self._body
            return
        for delay, event in self._events:
            if delay:
                await asyncio.sleep(delay)
            if self._aborted:
                return
            yield event

    def abort(self) -> None:
        self._aborted = True


def _error(status: int, message: str) -> MemoryReply:
    body = InputError(message).to_openai()
    return MemoryReply(status, orjson.dumps(body))


@register("replay")
class ReplayBackend(Upstream):
    Options = ReplayOptions
    options: ReplayOptions

    async def start(self) -> None:
        self.data = load_replay_set(self.options.data)
        if self.options.model not in self.data.models:
            raise InputError(
                f"deployment {self.deployment}: replay has no model {self.options.model!r}; "
                f"accepted: {', '.join(sorted(self.data.models))}"
            )
        self.recorded = self.data.models[self.options.model]

    def models(self) -> list[str]:
        return [self.options.model]

    def default_price(self) -> PriceCard:
        m = self.recorded
        return PriceCard(
            input_usd_per_m=m["input_usd_per_m"],
            output_usd_per_m=m["output_usd_per_m"],
            cached_input_usd_per_m=m.get("cached_input_usd_per_m"),
            origin=f"list price: {m['provider']} {self.options.model}, as recorded "
            f"{self.data.prices_as_of} in {self.data.source}",
        )

    def lookup(self, body: dict[str, Any]) -> dict[str, Any] | None:
        qid = self.data.by_prompt.get(normalise_prompt(prompt_text(body)))
        return None if qid is None else self.recorded["answers"].get(qid)

    def prompt_tokens(self, body: dict[str, Any]) -> int | None:
        answer = self.lookup(body)
        return None if answer is None else int(answer["prompt_tokens"])

    def default_max_output_tokens(self) -> int:
        """The longest recorded answer: a hold that never truncates a recording."""
        return max(int(a["completion_tokens"]) for a in self.recorded["answers"].values())

    async def send(self, call: Call) -> Reply:
        if call.endpoint == "embeddings":
            return _error(400, f"replay deployment {self.deployment!r} does not serve embeddings")
        answer = self.lookup(call.body)
        if answer is None:
            return _error(
                400,
                f"replay deployment {self.deployment!r} has no recording for this prompt; it "
                f"answers {self.data.describe()} (list them with `unitcost replay-prompts`)",
            )
        answer, finish = _truncated(answer, call.body)
        usage = {
            "prompt_tokens": answer["prompt_tokens"],
            "completion_tokens": answer["completion_tokens"],
            "total_tokens": answer["prompt_tokens"] + answer["completion_tokens"],
            "completion_tokens_details": {"reasoning_tokens": answer["reasoning_tokens"]},
        }
        rid = f"chatcmpl-replay-{call.call_id}"
        created = int(time.time())
        model = self.options.model
        rate = self.options.tokens_per_s
        if not call.stream:
            if rate:
                await asyncio.sleep(answer["completion_tokens"] / rate)
            message = {"role": "assistant", "content": answer["answer"]}
            return MemoryReply(
                200,
                orjson.dumps(
                    {
                        "id": rid,
                        "object": "chat.completion",
                        "created": created,
                        "model": model,
                        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                        "usage": usage,
                        "system_fingerprint": "unitcost-replay",
                    }
                ),
            )
        pieces = _split(answer["answer"], answer["completion_tokens"] - answer["reasoning_tokens"])
        tick = 1.0 / rate if rate else 0.0

        def event(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
            chunk = {
                "id": rid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
            return b"data: " + orjson.dumps(chunk) + b"\n\n"

        events = [(tick * answer["reasoning_tokens"], event({"role": "assistant", "content": ""}))]
        events += [(tick, event({"content": piece})) for piece in pieces]
        events.append((0.0, event({}, finish)))
        include_usage = (call.body.get("stream_options") or {}).get("include_usage")
        if include_usage:
            events.append(
                (
                    0.0,
                    b"data: "
                    + orjson.dumps(
                        {
                            "id": rid,
                            "object": "chat.completion.chunk",
                            "created": created,
                            "model": model,
                            "choices": [],
                            "usage": usage,
                        }
                    )
                    + b"\n\n",
                )
            )
        events.append((0.0, b"data: [DONE]\n\n"))
        return MemoryReply(200, b"", events)


def _truncated(answer: dict[str, Any], body: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The recording cut to the request's max_tokens, as an upstream would cut it:
    reasoning first, then the visible answer, finishing with `length`."""
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    total = int(answer["completion_tokens"])
    if not isinstance(limit, int) or limit >= total:
        return answer, "stop"
    reasoning = min(int(answer["reasoning_tokens"]), limit)
    visible = total - int(answer["reasoning_tokens"])
    kept = limit - reasoning
    text = answer["answer"]
    cut = text[: round(len(text) * kept / visible)] if visible > 0 else ""
    return {
        **answer,
        "completion_tokens": limit,
        "reasoning_tokens": reasoning,
        "answer": cut,
    }, "length"


def _split(text: str, pieces: int) -> list[str]:
    """The answer cut into `pieces` parts of about equal length (a token's worth each)."""
    pieces = max(1, min(pieces, len(text)))
    size = len(text) / pieces
    return [text[round(i * size) : round((i + 1) * size)] for i in range(pieces)]
