"""The shared core of the protocol fakes: an HTTP/1.1 server on loopback and a `Script`.

    server = await AnthropicProtocolServer().start()     # a subclass names its protocol
    server.script.tool_call = ("lookup", {"q": "x"})     # what the next calls answer
    server.script.fail_next, server.script.fail_status = 1, 529
    server.requests[-1]                                  # the JSON bodies it received

Each subclass speaks one provider's published wire format (paths, request checks, JSON
bodies, stream framing, error shapes), so a backend is tested against the protocol and not
against itself. None of them is a model: the answer is the script's text, and the usage is
the script's numbers, so a test knows exactly what the ledger must say. Faults: an error
status, a delay before the first byte, a stall or a dropped connection mid-stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import httptools
import orjson

__all__ = ["ProtocolServer", "Request", "Script", "Writer", "in_thread"]

_REASONS = {200: b"OK", 400: b"Bad Request", 401: b"Unauthorized", 404: b"Not Found"}


@dataclass
class Script:
    """What the next calls answer with. Tests change fields between requests."""

    text: str = "Paris is the capital of France."
    pieces: int = 4  # streamed in this many deltas
    tool_call: tuple[str, dict[str, Any]] | None = None  # used when the request offers tools
    thinking: str | None = None  # reasoning text, where the protocol has a place for it
    input_tokens: int = 21  # prompt tokens not read from or written to a cache
    output_tokens: int = 9  # everything generated, reasoning included
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    fail_next: int = 0  # answer this many calls with `fail_status`
    fail_status: int = 500
    stream_error_after: int | None = None  # send the protocol's in-stream error after N chunks
    delay_s: float = 0.0  # before the response head (first-token timeouts)
    chunk_interval_s: float = 0.0
    stall_after_chunks: int | None = None  # stop sending, keep the socket open
    die_after_chunks: int | None = None  # close the socket mid-stream

    @property
    def prompt_tokens(self) -> int:
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    def split(self, text: str | None = None) -> list[str]:
        text = self.text if text is None else text
        n = max(1, min(self.pieces, len(text)))
        size = len(text) / n
        return [text[round(i * size) : round((i + 1) * size)] for i in range(n)]


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None


class Writer:
    """One response: a whole body, or a stream of chunks (chunked encoding)."""

    def __init__(self, transport: asyncio.Transport, script: Script) -> None:
        self.transport = transport
        self.script = script
        self.sent = 0

    def whole(self, status: int, body: bytes, content_type: bytes = b"application/json") -> None:
        head = b"HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncontent-length: %d\r\n\r\n" % (
            status,
            _REASONS.get(status, b"Status"),
            content_type,
            len(body),
        )
        self.transport.write(head + body)

    def json(self, status: int, obj: Any) -> None:
        self.whole(status, orjson.dumps(obj))

    def start(self, content_type: bytes) -> None:
        self.transport.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: %s\r\ntransfer-encoding: chunked\r\n"
            b"cache-control: no-cache\r\n\r\n" % content_type
        )

    async def chunk(self, data: bytes) -> bool:
        """Send one chunk; False once the script says the stream is over (died or stalled)."""
        s = self.script
        if s.die_after_chunks is not None and self.sent >= s.die_after_chunks:
            self.transport.abort()
            return False
        if s.stall_after_chunks is not None and self.sent >= s.stall_after_chunks:
            await asyncio.sleep(3600)  # the client's between-token timeout ends this
            return False
        self.transport.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.sent += 1
        if s.chunk_interval_s:
            await asyncio.sleep(s.chunk_interval_s)
        return True

    def end(self) -> None:
        self.transport.write(b"0\r\n\r\n")


class _Connection(asyncio.Protocol):
    def __init__(self, server: ProtocolServer) -> None:
        self.server = server
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.headers: dict[str, str] = {}
        self.body: list[bytes] = []
        self.task: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.server._connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server._connections.discard(self)
        if self.task is not None:
            self.task.cancel()

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.close()

    def on_message_begin(self) -> None:
        self.url, self.headers, self.body = b"", {}, []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        method = self.parser.get_method().decode()
        request = Request(method, self.url.decode(), self.headers, b"".join(self.body))
        assert self.transport is not None
        self.task = asyncio.get_running_loop().create_task(self._serve(request, self.transport))

    async def _serve(self, request: Request, transport: asyncio.Transport) -> None:
        script = self.server.script
        with contextlib.suppress(asyncio.CancelledError):
            if script.delay_s:
                await asyncio.sleep(script.delay_s)
            writer = Writer(transport, script)
            try:
                await self.server.respond(request, writer)
            except Exception as exc:  # a bug in a fake must show in the test, not hang it
                writer.json(500, {"error": f"protocol fake failed: {exc!r}"})


class ProtocolServer:
    """Base of the protocol fakes. Subclasses implement `respond` and `error`."""

    protocol = "base"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self.script = Script()
        self.requests: list[Any] = []  # the JSON body of every request, in order
        self.headers: list[dict[str, str]] = []
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> ProtocolServer:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for conn in list(self._connections):
                if conn.transport is not None:
                    conn.transport.abort()
            await self._server.wait_closed()

    def take_failure(self) -> int | None:
        """The status to fail this call with, if the script says so."""
        if self.script.fail_next > 0:
            self.script.fail_next -= 1
            return self.script.fail_status
        return None

    async def respond(self, request: Request, out: Writer) -> None:
        raise NotImplementedError

    def record(self, request: Request) -> Any:
        body = request.json()
        self.requests.append(body)
        self.headers.append(request.headers)
        return body


S = TypeVar("S", bound=ProtocolServer)


@contextlib.contextmanager
def in_thread(server: S) -> Iterator[S]:
    """Run a protocol fake on its own event loop in a thread (for blocking clients).

    with in_thread(AnthropicProtocolServer()) as server:
        anthropic.Anthropic(base_url=server.url, api_key="k").messages.create(...)
    """
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
