"""Load levels: a closed loop at a fixed concurrency, or Poisson arrivals at a fixed rate.

    results = await run_level(client, prompts, Level(concurrency=8), requests=200)
    results = await run_level(client, prompts, Level(rate=5.0), duration_s=30)

Each level starts with `warmup` requests that are sent but not measured. A level stops at
`requests` measured requests or after `duration_s`, whichever comes first; what is in flight
then is allowed to finish, so no request is cut short.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from unitcost.bench.client import BenchClient, RequestResult
from unitcost.bench.prompts import Prompt
from unitcost.errors import InputError

__all__ = ["Level", "parse_levels", "run_level"]


@dataclass(frozen=True)
class Level:
    concurrency: int | None = None
    rate: float | None = None

    @property
    def label(self) -> str:
        return f"c={self.concurrency}" if self.concurrency is not None else f"rate={self.rate:g}/s"


def parse_levels(concurrency: str | None, rate: str | None) -> list[Level]:
    if bool(concurrency) == bool(rate):
        raise InputError(
            "give exactly one of --concurrency (e.g. 1,2,4,8) or --rate (e.g. 1,2.5,5)"
        )
    text = concurrency or rate or ""
    levels = []
    for item in text.split(","):
        try:
            value = float(item)
        except ValueError:
            value = -1.0
        if value <= 0 or (concurrency and value != int(value)):
            flag = "--concurrency" if concurrency else "--rate"
            kind = "positive whole numbers" if concurrency else "positive numbers (requests/s)"
            raise InputError(f"{flag}: {item!r} is not valid; accepted: comma-separated {kind}")
        levels.append(Level(concurrency=int(value)) if concurrency else Level(rate=value))
    return levels


async def run_level(
    client: BenchClient,
    prompts: Iterator[Prompt],
    level: Level,
    *,
    requests: int | None = None,
    duration_s: float | None = None,
    warmup: int = 0,
    on_result: Callable[[RequestResult], None] | None = None,
    seed: int = 0,
) -> list[RequestResult]:
    if requests is None and duration_s is None:
        raise InputError("give --requests or --duration for each level")
    if warmup:
        await _closed(client, prompts, level.concurrency or 1, warmup, None, None)
    if level.concurrency is not None:
        return await _closed(client, prompts, level.concurrency, requests, duration_s, on_result)
    assert level.rate is not None
    return await _open(client, prompts, level.rate, requests, duration_s, on_result, seed)


async def _closed(
    client: BenchClient,
    prompts: Iterator[Prompt],
    concurrency: int,
    requests: int | None,
    duration_s: float | None,
    on_result: Callable[[RequestResult], None] | None,
) -> list[RequestResult]:
    results: list[RequestResult] = []
    issued = itertools.count()
    deadline = time.perf_counter() + duration_s if duration_s else None

    async def worker() -> None:
        while True:
            if requests is not None and next(issued) >= requests:
                return
            if deadline is not None and time.perf_counter() >= deadline:
                return
            result = await client.send(next(prompts))
            results.append(result)
            if on_result:
                on_result(result)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results


async def _open(
    client: BenchClient,
    prompts: Iterator[Prompt],
    rate: float,
    requests: int | None,
    duration_s: float | None,
    on_result: Callable[[RequestResult], None] | None,
    seed: int,
) -> list[RequestResult]:
    rng = random.Random(seed)
    results: list[RequestResult] = []
    tasks: set[asyncio.Task[None]] = set()
    start = time.perf_counter()
    due = start

    async def one(prompt: Prompt) -> None:
        result = await client.send(prompt)
        results.append(result)
        if on_result:
            on_result(result)

    sent = 0
    while (requests is None or sent < requests) and (
        duration_s is None or due - start < duration_s
    ):
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(next(prompts)))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        sent += 1
        due += rng.expovariate(rate)  # Poisson arrivals: exponential gaps
    if tasks:
        await asyncio.gather(*tasks)
    return results
