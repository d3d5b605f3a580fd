"""The keep-alive pool against small raw servers that misbehave on purpose."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from unitcost.errors import UpstreamError, UpstreamTimeout
from unitcost.wire.http1 import ConnectionPool

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def serve(handler: Handler) -> tuple[asyncio.AbstractServer, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    return head + await reader.readexactly(length)


def test_chunked_bodies_stream_and_connections_are_reused() -> None:
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while True:
            try:
                await read_request(reader)
            except asyncio.IncompleteReadError:
                return
            writer.write(
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n"
                b"content-type: text/event-stream\r\n\r\n"
            )
            for part in (b"data: a\n\n", b"data: b\n\n"):
                writer.write(b"%x\r\n%s\r\n" % (len(part), part))
                await writer.drain()
                await asyncio.sleep(0.01)
            writer.write(b"0\r\n\r\n")

    async def main() -> None:
        server, port = await serve(handler)
        pool = ConnectionPool("127.0.0.1", port)
        for _ in range(3):
            reply = await pool.request(b"POST", b"/x", [], b"{}")
            assert reply.content_type == b"text/event-stream"
            assert [c async for c in reply.chunks(1.0)] == [b"data: a\n\n", b"data: b\n\n"]
        assert connections == 1
        await pool.close()
        server.close()

    asyncio.run(main())


def test_a_keep_alive_socket_closed_while_idle_is_retried_once() -> None:
    served = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        await read_request(reader)
        served += 1
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()  # without saying `connection: close`

    async def main() -> None:
        server, port = await serve(handler)
        pool = ConnectionPool("127.0.0.1", port)
        assert await (await pool.request(b"POST", b"/", [], b"")).read() == b"ok"
        await asyncio.sleep(0.05)
        assert await (await pool.request(b"POST", b"/", [], b"")).read() == b"ok"
        assert served == 2
        await pool.close()
        server.close()

    asyncio.run(main())


def test_timeouts_and_a_server_that_hangs_up_mid_body() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(5)

    async def truncating(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly-part")
        await writer.drain()
        writer.transport.abort()

    async def main() -> None:
        server, port = await serve(silent)
        pool = ConnectionPool("127.0.0.1", port, limit=1)
        with pytest.raises(UpstreamTimeout, match="first-token timeout"):
            await pool.request(b"POST", b"/", [], b"", first_byte_timeout=0.1)
        # the timed-out call released its slot: the pool (limit 1) is usable again
        with pytest.raises(UpstreamTimeout):
            await pool.request(b"POST", b"/", [], b"", first_byte_timeout=0.1)
        server.close()
        server2, port2 = await serve(truncating)
        reply = await ConnectionPool("127.0.0.1", port2).request(b"POST", b"/", [], b"")
        with pytest.raises(UpstreamError, match="closed the connection before the response ended"):
            await reply.read(1.0)
        server2.close()
        with pytest.raises(UpstreamError, match="could not connect"):
            await ConnectionPool("127.0.0.1", 9).request(b"POST", b"/", [], b"")

    asyncio.run(main())
