"""Replies in another protocol, translated to OpenAI's on the way through.

    reply = TranslatedReply(await pool.request(...), body=to_chat, stream=to_chat_stream,
                            error=to_openai_error)
    await reply.read()                  # an OpenAI chat.completion (or error) as JSON bytes
    async for chunk in reply.chunks():  # OpenAI chunk events

The gateway reads every backend's answer as OpenAI's; a backend for another protocol
(anthropic, ollama, triton) wraps its HTTP reply in this, naming three pure functions from
`unitcost.wire`. A body that is not what the protocol promises becomes a 502, not a crash.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import orjson

from unitcost.errors import InputError, UpstreamError
from unitcost.gateway.upstreams.base import Reply

__all__ = ["StreamTranslator", "TranslatedReply", "error_reply"]

#: what a translator raises on a body that does not follow its protocol
_NOT_THE_PROTOCOL = (
    orjson.JSONDecodeError,
    KeyError,
    TypeError,
    ValueError,
    AttributeError,
    InputError,
)


class StreamTranslator(Protocol):
    def feed(self, chunk: bytes) -> bytes: ...

    def close(self) -> bytes: ...


class TranslatedReply:
    def __init__(
        self,
        inner: Reply,
        *,
        body: Callable[[Any], dict[str, Any]],
        stream: Callable[[], StreamTranslator] | None,
        error: Callable[[int, bytes], dict[str, Any]],
        stream_types: tuple[bytes, ...] = (b"text/event-stream",),
        where: str = "upstream",
    ) -> None:
        self.inner = inner
        self.status = inner.status
        self._body, self._stream, self._error = body, stream, error
        self._where = where
        self.streaming = (
            stream is not None
            and inner.status == 200
            and inner.content_type.split(b";")[0].strip() in stream_types
        )
        self.content_type = b"text/event-stream" if self.streaming else b"application/json"

    async def read(self, timeout: float | None = None) -> bytes:
        raw = await self.inner.read(timeout)
        if self.status != 200:
            return orjson.dumps(self._error(self.status, raw))
        if self.streaming:  # read whole (a caller that wanted JSON): translate the events
            return b"".join([c async for c in self._translate(_once(raw))])
        try:
            return orjson.dumps(self._body(orjson.loads(raw)))
        except _NOT_THE_PROTOCOL as exc:
            raise UpstreamError(
                f"{self._where} sent a body that is not its protocol's ({exc})"
            ) from None

    async def chunks(self, timeout: float | None = None) -> AsyncIterator[bytes]:
        if not self.streaming:
            yield await self.read(timeout)
            return
        async for out in self._translate(self.inner.chunks(timeout)):
            yield out

    async def _translate(self, source: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        assert self._stream is not None
        translator = self._stream()
        try:
            async for chunk in source:
                out = translator.feed(chunk)
                if out:
                    yield out
            rest = translator.close()
        except _NOT_THE_PROTOCOL as exc:
            raise UpstreamError(
                f"{self._where} sent a stream that is not its protocol's ({exc})"
            ) from None
        if rest:
            yield rest

    def abort(self) -> None:
        self.inner.abort()


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


class _MemoryReply:
    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self.content_type = b"application/json"
        self._body = body

    async def read(self, timeout: float | None = None) -> bytes:
        return self._body

    async def chunks(self, timeout: float | None = None) -> AsyncIterator[bytes]:
        yield self._body

    def abort(self) -> None:
        pass


def error_reply(status: int, message: str, param: str | None = None) -> Reply:
    """An OpenAI-shaped error answered without calling upstream (what it cannot serve)."""
    return _MemoryReply(status, orjson.dumps(InputError(message, param=param).to_openai()))
