"""A fake OpenAI-compatible upstream: an instrument for load tests and fault injection.

    upstream = FakeUpstream(port=0)
    await upstream.start()            # upstream.url → "http://127.0.0.1:PORT/v1"
    upstream.behaviour.fail_next = 2  # the next two calls answer 503

It answers `POST /v1/chat/completions`, `/v1/completions` and `/v1/embeddings` with a fixed
answer and a `usage` block, in a few microseconds, on a raw asyncio protocol (no framework),
so that a benchmark measures the thing in front of it rather than the fake itself. It can
also fail, stall, or die in the middle of a stream. It is not a model and says so in every
answer (`"model": "fake-upstream"`).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import cast

import httptools

__all__ = ["FakeUpstream", "FakeUpstreamBehaviour"]

ANSWER_WORDS = ["This", " is", " a", " fixed", " answer", " from", " a", " fake", " upstream", "."]


@dataclass
class FakeUpstreamBehaviour:
    """What the next calls do. Tests change these fields between requests."""

    completion_tokens: int = len(ANSWER_WORDS)
    prompt_tokens: int = 12
    fail_next: int = 0  # answer this many calls with `fail_status`
    fail_status: int = 503
    delay_s: float = 0.0  # before the first byte
    token_interval_s: float = 0.0  # between stream chunks
    die_after_chunks: int | None = None  # close the socket mid-stream after N chunks
    stream_usage: bool = True  # honour stream_options.include_usage
    usage_override: dict[str, object] | None = None  # sent as `usage` instead of the counts
    truncate_body: int | None = None  # send only the first N bytes of a JSON body, then close
    garbage_stream: bool = False  # stream events whose data is not JSON
    silent_after_headers: bool = False  # send SSE headers, then nothing (a queueing server)
    reset_after_reading: bool = False  # read the request, then reset the connection
    calls: int = 0
    bodies: list[bytes] = field(default_factory=list)
    keep_bodies: bool = False


def _response(status: int, body: bytes, content_type: bytes = b"application/json") -> bytes:
    reason = {200: b"OK", 400: b"Bad Request", 404: b"Not Found"}.get(status, b"Error")
    return (
        b"HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncontent-length: %d\r\n\r\n"
        % (status, reason, content_type, len(body))
        + body
    )


class _Protocol(asyncio.Protocol):
    def __init__(self, server: FakeUpstream) -> None:
        self.server = server
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.server.connections.add(self.transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.server.connections.discard(self.transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport:
                self.transport.close()

    # httptools callbacks
    def on_url(self, url: bytes) -> None:
        self.url = url

    def on_message_begin(self) -> None:
        self.body = []

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        body = b"".join(self.body)
        b = self.server.behaviour
        b.calls += 1
        if b.keep_bodies:
            b.bodies.append(body)
        assert self.transport is not None
        if b.reset_after_reading:  # the request was read: a generation may have started
            self.transport.abort()
            return
        if b.truncate_body is not None and b'"stream":true' not in body.replace(b" ", b""):
            payload = json.dumps(self.server._payload(self.url)).encode()[: b.truncate_body]
            head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            self.transport.write(
                head + b"content-length: %d\r\n\r\n" % (len(payload) + 10) + payload
            )
            self.transport.close()  # fewer bytes than promised
            return
        if b.delay_s or b.token_interval_s or b'"stream":true' in body.replace(b" ", b""):
            asyncio.get_running_loop().create_task(self._slow(body))
            return
        assert self.transport is not None
        self.transport.write(self.server.answer(self.url, body))

    async def _slow(self, body: bytes) -> None:
        b = self.server.behaviour
        transport = self.transport
        assert transport is not None
        if b.delay_s:
            await asyncio.sleep(b.delay_s)
            if transport.is_closing():
                return  # the caller gave up while we waited
        request = json.loads(body or b"{}")
        if not request.get("stream") or b.fail_next:
            transport.write(self.server.answer(self.url, body))
            return
        transport.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        if b.silent_after_headers:
            return  # and then nothing, until the client gives up
        if b.garbage_stream:
            for _ in range(3):
                _write_chunk(transport, b"data: \x00garbage{{{\n\n")
            transport.write(b"0\r\n\r\n")
            return
        include_usage = (request.get("stream_options") or {}).get(
            "include_usage"
        ) and b.stream_usage
        for i in range(b.completion_tokens):
            if b.die_after_chunks is not None and i >= b.die_after_chunks:
                transport.abort()
                return
            word = ANSWER_WORDS[i % len(ANSWER_WORDS)]
            chunk = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "model": "fake-upstream",
                "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}],
            }
            _write_chunk(transport, b"data: " + json.dumps(chunk).encode() + b"\n\n")
            if b.token_interval_s:
                await asyncio.sleep(b.token_interval_s)
        final = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "model": "fake-upstream",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        }
        _write_chunk(transport, b"data: " + json.dumps(final).encode() + b"\n\n")
        if include_usage:
            usage = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "model": "fake-upstream",
                "choices": [],
                "usage": self.server.usage(),
            }
            _write_chunk(transport, b"data: " + json.dumps(usage).encode() + b"\n\n")
        _write_chunk(transport, b"data: [DONE]\n\n")
        transport.write(b"0\r\n\r\n")


def _write_chunk(transport: asyncio.Transport, data: bytes) -> None:
    transport.write(b"%x\r\n%s\r\n" % (len(data), data))


class FakeUpstream:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self.behaviour = FakeUpstreamBehaviour()
        self.connections: set[asyncio.Transport] = set()
        self._server: asyncio.base_events.Server | None = None
        self._cache: dict[tuple[bytes, int, int], bytes] = {}

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    async def start(self) -> FakeUpstream:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Protocol(self), self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for t in list(self.connections):
                t.abort()
            await self._server.wait_closed()

    def usage(self) -> dict[str, object]:
        b = self.behaviour
        if b.usage_override is not None:
            return b.usage_override
        return {
            "prompt_tokens": b.prompt_tokens,
            "completion_tokens": b.completion_tokens,
            "total_tokens": b.prompt_tokens + b.completion_tokens,
        }

    def answer(self, url: bytes, body: bytes) -> bytes:
        b = self.behaviour
        if b.fail_next:
            b.fail_next -= 1
            error = {
                "error": {
                    "message": "fake upstream failure (injected)",
                    "type": "server_error",
                    "param": None,
                    "code": None,
                }
            }
            return _response(b.fail_status, json.dumps(error).encode())
        key = (url, b.prompt_tokens, b.completion_tokens)
        cached = self._cache.get(key) if b.usage_override is None else None
        if cached is None:
            cached = _response(200, json.dumps(self._payload(url)).encode())
            self._cache[key] = cached
        return cached

    def _payload(self, url: bytes) -> dict[str, object]:
        usage = self.usage()
        if url.endswith(b"/embeddings"):
            return {
                "object": "list",
                "model": "fake-upstream",
                "data": [{"object": "embedding", "index": 0, "embedding": [0.0] * 8}],
                "usage": {
                    "prompt_tokens": usage.get("prompt_tokens"),
                    "total_tokens": usage.get("prompt_tokens"),
                },
            }
        text = "".join(ANSWER_WORDS)
        if url.endswith(b"/completions") and not url.endswith(b"/chat/completions"):
            return {
                "id": "cmpl-fake",
                "object": "text_completion",
                "model": "fake-upstream",
                "choices": [{"index": 0, "text": text, "finish_reason": "stop"}],
                "usage": usage,
            }
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "model": "fake-upstream",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": usage,
        }


def main() -> None:
    """`python -m unitcost.testing.fake_upstream --port 9101`: serve until killed."""
    import argparse

    import uvloop

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9101)
    ap.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    args = ap.parse_args()

    async def run() -> None:
        upstream = await FakeUpstream(args.host, args.port).start()
        upstream.behaviour.delay_s = args.delay
        print(f"fake upstream on {upstream.url}", flush=True)
        await asyncio.Event().wait()

    uvloop.run(run())


if __name__ == "__main__":
    main()
