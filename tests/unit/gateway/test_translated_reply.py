"""A reply in another protocol that breaks that protocol becomes a 502, never a crash."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
import pytest

from unitcost.errors import UpstreamError
from unitcost.gateway.upstreams.translated import TranslatedReply, error_reply
from unitcost.wire.anthropic import error_to_openai, to_chat_completion
from unitcost.wire.anthropic_stream import MessagesToChatStream


class Inner:
    def __init__(self, status: int, content_type: bytes, parts: list[bytes]) -> None:
        self.status, self.content_type, self.parts = status, content_type, parts

    async def read(self, timeout: float | None = None) -> bytes:
        return b"".join(self.parts)

    async def chunks(self, timeout: float | None = None) -> AsyncIterator[bytes]:
        for p in self.parts:
            yield p

    def abort(self) -> None:
        pass


def reply(status: int, content_type: bytes, *parts: bytes) -> TranslatedReply:
    return TranslatedReply(
        Inner(status, content_type, list(parts)),
        body=to_chat_completion,
        stream=lambda: MessagesToChatStream(include_usage=True),
        error=error_to_openai,
        where="anthropic upstream of d",
    )


def test_a_body_that_is_not_json_is_an_upstream_error() -> None:
    with pytest.raises(
        UpstreamError, match="anthropic upstream of d sent a body that is not its protocol's"
    ):
        asyncio.run(reply(200, b"application/json", b"<html>").read())


def test_a_stream_with_impossible_usage_is_an_upstream_error() -> None:
    event = b'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":"many"}}}\n\n'
    stop = b'event: message_stop\ndata: {"type":"message_stop"}\n\n'

    async def drain() -> list[bytes]:
        return [c async for c in reply(200, b"text/event-stream", event, stop).chunks()]

    with pytest.raises(UpstreamError, match="sent a stream that is not its protocol's"):
        asyncio.run(drain())


def test_errors_are_reshaped_and_local_refusals_are_openai_shaped() -> None:
    body = orjson.dumps(
        {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}
    )
    out = orjson.loads(asyncio.run(reply(429, b"application/json", body).read()))
    assert out == {
        "error": {"message": "slow down", "type": "rate_limit_error", "param": None, "code": None}
    }
    refused = error_reply(400, "tools: not here", "tools")
    assert refused.status == 400
    assert orjson.loads(asyncio.run(refused.read()))["error"]["param"] == "tools"
