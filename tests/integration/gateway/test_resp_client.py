"""The gateway's own Redis client: pipelined replies stay matched to their commands, a
silent Redis times out, and a restarted one is reconnected to."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from unitcost.testing.processes import redis_server
from unitcost.wire.resp import RespClient, RespError


@pytest.fixture(scope="module")
def redis() -> Iterator[tuple[str, Any]]:
    with redis_server() as server:
        yield server


def test_concurrent_commands_get_their_own_replies(redis) -> None:  # type: ignore[no-untyped-def]
    url, _ = redis

    async def go() -> list[Any]:
        client = RespClient.from_url(url)
        await client.call(b"DEL", b"resp:n")
        # 300 commands in one loop turn share writes; each must get the reply to itself
        replies = await asyncio.gather(
            *(client.call(b"ECHO", str(i)) for i in range(300)),
            *(client.call(b"INCR", b"resp:n") for _ in range(300)),
        )
        client.close()
        return replies

    replies = asyncio.run(go())
    assert replies[:300] == [str(i).encode() for i in range(300)]
    assert sorted(replies[300:]) == list(range(1, 301))


def test_a_redis_that_never_answers_times_out_every_pending_command() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]

    async def go() -> list[BaseException | Any]:
        client = RespClient("127.0.0.1", port, timeout_s=0.3)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        results = await asyncio.gather(
            *(client.call(b"PING") for _ in range(3)), return_exceptions=True
        )
        assert loop.time() - t0 < 2.0
        return results

    try:
        results = asyncio.run(go())
    finally:
        listener.close()
    assert all(isinstance(r, RespError) for r in results)
    assert "did not answer within 0.3 s" in str(results[0])


def test_a_restarted_redis_is_reconnected_to(redis) -> None:  # type: ignore[no-untyped-def]
    url, restart = redis

    async def go() -> tuple[Any, BaseException | None, Any]:
        client = RespClient.from_url(url)
        first = await client.call(b"PING")
        restart()
        lost: BaseException | None = None
        try:
            await client.call(b"PING")  # the old socket is dead: this one fails, clearly
        except RespError as exc:
            lost = exc
        again = await client.call(b"PING")
        client.close()
        return first, lost, again

    first, lost, again = asyncio.run(go())
    assert first == b"PONG" and again == b"PONG"
    assert lost is None or "Redis" in str(lost)
