"""A small Redis client (RESP2 over one asyncio connection), for the admission hot path.

    redis = RespClient.from_url("redis://127.0.0.1:6379/0")
    await redis.call(b"SET", b"k", b"v")                 # b"OK"
    await redis.script(LUA_SOURCE, keys=[b"k"], args=[b"1"])   # EVALSHA, loading on NOSCRIPT
    redis.script_soon(LUA_SOURCE, keys, args)            # the same, not waiting on the reply

Why not redis-py: its asyncio client costs ~100 µs of CPU per command on this machine, and
admission needs two commands per request (reserve, settle) within a 170 µs budget. This one
pipelines: commands are written as they come and replies matched in order, so concurrent
requests share one socket without waiting for each other. A lost connection fails every
pending command with `RespError` and the next command reconnects.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from collections.abc import Sequence
from typing import Any, cast
from urllib.parse import urlsplit

__all__ = ["RespClient", "RespError"]


class RespError(Exception):
    """Redis is unreachable, or answered with an error reply."""


def encode(*parts: bytes | str | int) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for p in parts:
        b = p if isinstance(p, bytes) else str(p).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


class _Parser:
    """Incremental RESP2 reply parser; error replies become RespError values."""

    def __init__(self) -> None:
        self.buf = b""

    def feed(self, data: bytes) -> list[Any]:
        self.buf += data
        replies = []
        while True:
            parsed = self._one(0)
            if parsed is None:
                break
            value, end = parsed
            self.buf = self.buf[end:]
            replies.append(value)
        return replies

    def _one(self, pos: int) -> tuple[Any, int] | None:
        line_end = self.buf.find(b"\r\n", pos)
        if line_end < 0:
            return None
        kind, line = self.buf[pos : pos + 1], self.buf[pos + 1 : line_end]
        nxt = line_end + 2
        if kind == b"+":
            return line, nxt
        if kind == b"-":
            return RespError(line.decode("utf-8", "replace")), nxt
        if kind == b":":
            return int(line), nxt
        if kind == b"$":
            n = int(line)
            if n < 0:
                return None, nxt
            if len(self.buf) < nxt + n + 2:
                return None
            return self.buf[nxt : nxt + n], nxt + n + 2
        if kind == b"*":
            n = int(line)
            if n < 0:
                return None, nxt
            items = []
            for _ in range(n):
                parsed = self._one(nxt)
                if parsed is None:
                    return None
                item, nxt = parsed
                items.append(item)
            return items, nxt
        raise RespError(f"unexpected RESP reply type {kind!r}")


class _Protocol(asyncio.Protocol):
    def __init__(self, client: RespClient) -> None:
        self.client = client
        self.parser = _Parser()
        self.transport: asyncio.Transport | None = None
        self.outgoing: list[bytes] = []  # commands written at the end of this loop turn

    def flush(self) -> None:
        out, self.outgoing = self.outgoing, []
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(out))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self.client._protocol is not self:
            return  # a connection already given up on; its commands have failed
        try:
            replies = self.parser.feed(data)
        except (RespError, ValueError) as exc:
            self.client._fail(RespError(f"malformed reply from Redis ({exc})"))
            return
        waiting = self.client._waiting
        for reply in replies:
            if waiting:
                future, _ = waiting.popleft()
                if not future.done():
                    future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.client._protocol in (self, None):  # not once a new connection replaced it
            self.client._fail(RespError(f"connection to Redis lost ({exc or 'closed'})"))


class RespClient:
    def __init__(self, host: str, port: int, db: int = 0, timeout_s: float = 2.0) -> None:
        self.host, self.port, self.db, self.timeout_s = host, port, db, timeout_s
        self._protocol: _Protocol | None = None
        # replies come in command order: (future, deadline) pairs, oldest first
        self._waiting: deque[tuple[asyncio.Future[Any], float]] = deque()
        self._watchdog: asyncio.TimerHandle | None = None
        self._connecting: asyncio.Lock | None = None
        self._shas: dict[bytes, bytes] = {}
        self._soon: set[asyncio.Future[Any]] = set()  # script_soon calls not yet answered

    @classmethod
    def from_url(cls, url: str, timeout_s: float = 2.0) -> RespClient:
        parts = urlsplit(url)
        if parts.scheme != "redis" or not parts.hostname:
            raise ValueError(f"{url!r}; accepted: redis://host:port/db")
        db = int(parts.path.strip("/") or 0)
        return cls(parts.hostname, parts.port or 6379, db, timeout_s)

    async def _connect(self) -> _Protocol:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._protocol is not None and self._protocol.transport is not None:
                return self._protocol
            loop = asyncio.get_running_loop()
            try:
                _, protocol = await asyncio.wait_for(
                    loop.create_connection(lambda: _Protocol(self), self.host, self.port),
                    self.timeout_s,
                )
            except (OSError, TimeoutError) as exc:
                raise RespError(f"cannot reach Redis at {self.host}:{self.port} ({exc})") from None
            self._protocol = protocol
            if self.db:
                await self._send(protocol, encode(b"SELECT", self.db))
            return protocol

    def _fail(self, exc: RespError) -> None:
        self._protocol = None
        while self._waiting:
            future, _ = self._waiting.popleft()
            if not future.done():
                future.set_exception(exc)

    def _enqueue(self, protocol: _Protocol, command: bytes) -> asyncio.Future[Any]:
        """Queue a command; its future gets the reply (an error reply as a RespError value).
        Why not a write and an asyncio.wait_for per command: under load, commands from
        concurrent requests share one write per loop turn, and one timer watches the
        oldest reply instead of a timer per command (both measured on the hot path)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._waiting.append((future, loop.time() + self.timeout_s))
        if not protocol.outgoing:
            loop.call_soon(protocol.flush)
        protocol.outgoing.append(command)
        if self._watchdog is None:
            self._watchdog = loop.call_later(self.timeout_s, self._watch)
        return future

    async def _send(self, protocol: _Protocol, command: bytes) -> Any:
        reply = await self._enqueue(protocol, command)
        if isinstance(reply, RespError):
            raise reply
        return reply

    def _watch(self) -> None:
        """Fail everything pending once the oldest reply is overdue."""
        self._watchdog = None
        if not self._waiting:
            return
        loop = asyncio.get_running_loop()
        deadline = self._waiting[0][1]
        if deadline <= loop.time():
            self.close()
            self._fail(RespError(f"Redis did not answer within {self.timeout_s:g} s"))
            return
        self._watchdog = loop.call_later(deadline - loop.time(), self._watch)

    def _open(self) -> _Protocol | None:
        """The connection, when it is open; None when the next command must connect."""
        protocol = self._protocol
        if protocol is None or protocol.transport is None or protocol.transport.is_closing():
            return None
        return protocol

    async def call(self, *parts: bytes | str | int) -> Any:
        protocol = self._open() or await self._connect()
        return await self._send(protocol, encode(*parts))

    def _sha(self, source: bytes) -> bytes:
        sha = self._shas.get(source)
        if sha is None:
            sha = self._shas[source] = hashlib.sha1(source).hexdigest().encode()
        return sha

    async def script(
        self, source: bytes, keys: Sequence[bytes | str], args: Sequence[bytes | str | int]
    ) -> Any:
        """EVALSHA the script, loading it first if Redis does not know it (after a restart)."""
        sha = self._sha(source)
        try:
            return await self.call(b"EVALSHA", sha, len(keys), *keys, *args)
        except RespError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
        await self.load(source)
        return await self.call(b"EVALSHA", sha, len(keys), *keys, *args)

    def script_soon(
        self, source: bytes, keys: Sequence[bytes | str], args: Sequence[bytes | str | int]
    ) -> asyncio.Future[Any]:
        """`script` for a caller that does not wait on the reply: on an open connection the
        command is queued now, in order with every later command, and nothing suspends.
        The future ends with the reply, or with RespError."""
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._soon.add(done)
        done.add_done_callback(self._soon.discard)

        def retry() -> None:  # not connected, or Redis lost the script: in a task of its own
            task = asyncio.ensure_future(self.script(source, keys, args))
            task.add_done_callback(lambda t: _resolve(done, _outcome(t)))

        def replied(first: asyncio.Future[Any]) -> None:
            reply = _outcome(first)
            if isinstance(reply, RespError) and str(reply).startswith("NOSCRIPT"):
                retry()
            else:
                _resolve(done, reply)

        protocol = self._open()
        if protocol is None:
            retry()
        else:
            command = encode(b"EVALSHA", self._sha(source), len(keys), *keys, *args)
            self._enqueue(protocol, command).add_done_callback(replied)
        return done

    async def load(self, source: bytes) -> None:
        """SCRIPT LOAD now, so `script_soon` finds the script and keeps its order."""
        await self.call(b"SCRIPT", b"LOAD", source)

    async def drain(self, timeout_s: float) -> None:
        """Wait (up to `timeout_s`) for the replies to every command sent so far."""
        pending = [*(future for future, _ in self._waiting), *self._soon]
        if pending:
            await asyncio.wait(pending, timeout=timeout_s)

    def close(self) -> None:
        protocol, self._protocol = self._protocol, None
        if protocol is not None and protocol.transport is not None:
            protocol.flush()  # commands queued this loop turn still go out
            protocol.transport.close()


def _outcome(future: asyncio.Future[Any]) -> Any:
    """A finished future's reply, or its exception as a value."""
    if future.cancelled():
        return RespError("the command was cancelled")
    return future.exception() or future.result()


def _resolve(future: asyncio.Future[Any], outcome: Any) -> None:
    if future.done():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
