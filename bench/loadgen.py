"""A minimal closed-loop HTTP/1.1 load generator for the overhead benchmarks.

Raw asyncio streams over keep-alive connections, one pre-encoded request, so the client
costs a few tens of microseconds per request and the measurement is of the server.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

__all__ = ["Result", "pct", "run_load"]


@dataclass
class Result:
    latencies_s: list[float]
    elapsed_s: float
    errors: int

    def pct(self, q: float) -> float:
        return pct(self.latencies_s, q)

    @property
    def rps(self) -> float:
        return len(self.latencies_s) / self.elapsed_s


def pct(xs: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of latencies."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q / 100 * len(xs)))]


def build_request(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nhost: {host}:{port}\r\ncontent-type: application/json\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head += f"content-length: {len(body)}\r\n\r\n"
    return head.encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    if b"transfer-encoding: chunked" in lower:
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        i = lower.index(b"content-length:")
        length = int(lower[i + 15 : lower.index(b"\r\n", i)])
        await reader.readexactly(length)
    return status


async def run_load(
    host: str, port: int, request: bytes, *, concurrency: int, requests: int, warmup: int = 200
) -> Result:
    latencies: list[float] = []
    errors = 0
    remaining = requests + warmup

    async def worker() -> None:
        nonlocal remaining, errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while remaining > 0:
                remaining -= 1
                warm = remaining >= requests
                start = time.perf_counter()
                writer.write(request)
                status = await _read_response(reader)
                if not warm:
                    latencies.append(time.perf_counter() - start)
                    if status != 200:
                        errors += 1
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Result(latencies, time.perf_counter() - start, errors)
