"""Load levels: a closed loop at a fixed concurrency, or Poisson arrivals at a fixed rate.

    results = await run_level(client, prompts, Level(concurrency=8), requests=200)
    results = await run_level(client, prompts, Level(rate=5.0), duration_s=30)

The measured window is what a steady load sees (`Window`):

- Warm-up and measurement are one uninterrupted load: streams never pause between them, so
  no measured request finds the server idle because the warm-up had just drained it.
- The window opens once `warmup` requests have finished and, in a closed loop, every one of
  its `concurrency` streams has finished at least one: the level's concurrency has been
  reached and each stream's first, cold request is behind it. Requests that start before
  are warm-up; every request that starts in the window is measured, until `requests` have
  started or `duration_s` has passed.
- Then the load stays on: streams (or arrivals) keep sending unmeasured requests until the
  last measured one has finished, and those are cancelled then (the socket closes and the
  server stops generating). No measured request runs while the load drains.
- `warmup=0` is the raw mode: every request from a cold start is measured and nothing else
  is sent (what an exact count of requests needs, e.g. to compare with a ledger).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from unitcost.bench.client import BenchClient, RequestResult
from unitcost.bench.prompts import Prompt
from unitcost.errors import InputError

__all__ = ["Level", "Window", "parse_levels", "run_level"]


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
    """The measured requests of one level (the window rule is in the module docstring)."""
    if requests is None and duration_s is None:
        raise InputError("give --requests or --duration for each level")
    streams = level.concurrency or 0
    window = Window(streams, warmup, requests, duration_s)
    run = _Run(client, prompts, window, on_result)
    if level.concurrency is not None:
        await asyncio.gather(*(run.stream(i) for i in range(level.concurrency)))
    else:
        assert level.rate is not None
        await run.arrivals(level.rate, seed)
    await run.finish()
    return run.results


@dataclass
class Window:
    """When a level measures: the steady-state rule, kept apart from the sending so that it
    can be tested on its own."""

    streams: int  # a closed loop's concurrency; 0 for Poisson arrivals
    warmup: int
    requests: int | None
    duration_s: float | None
    opened_at: float | None = None
    closed: bool = False
    issued: int = 0  # measured requests started
    in_flight: int = 0  # measured requests not yet finished
    warmed: int = 0  # warm-up requests finished
    streams_warmed: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.warmup == 0:  # raw mode: measure from the first request, no cool-down
            self.opened_at = time.perf_counter()

    @property
    def steady(self) -> bool:
        return self.warmup > 0

    def warmed_up(self, stream: int | None) -> None:
        """A warm-up request finished; opens the window once the rule is met."""
        self.warmed += 1
        if stream is not None:
            self.streams_warmed.add(stream)
        if self.opened_at is None and (
            self.warmed >= self.warmup and len(self.streams_warmed) >= self.streams
        ):
            self.opened_at = time.perf_counter()

    def take(self) -> bool:
        """Whether the request about to start is measured (and count it if so)."""
        if self.opened_at is None or self.closed:
            return False
        over_count = self.requests is not None and self.issued >= self.requests
        over_time = (
            self.duration_s is not None and time.perf_counter() - self.opened_at >= self.duration_s
        )
        if over_count or over_time:
            self.closed = True
            return False
        self.issued += 1
        self.in_flight += 1
        return True

    def keep_loading(self) -> bool:
        """Whether unmeasured requests should still be sent: before the window opens, and
        after it closes until the last measured request has finished (steady mode only)."""
        if not self.closed:
            return True
        return self.steady and self.in_flight > 0

    @property
    def done(self) -> bool:
        return self.closed and self.in_flight == 0


class _Run:
    def __init__(
        self,
        client: BenchClient,
        prompts: Iterator[Prompt],
        window: Window,
        on_result: Callable[[RequestResult], None] | None,
    ) -> None:
        self.client, self.prompts, self.window, self.on_result = client, prompts, window, on_result
        self.results: list[RequestResult] = []
        self.measured: set[asyncio.Task[RequestResult]] = set()
        self.unmeasured: set[asyncio.Task[RequestResult]] = set()
        self.errors: list[BaseException] = []  # raised by a request (not a failed reply)

    def launch(self, stream: int | None) -> tuple[asyncio.Task[RequestResult], bool] | None:
        measured = self.window.take()
        if not measured and not self.window.keep_loading():
            return None
        task = asyncio.ensure_future(self.client.send(next(self.prompts)))
        (self.measured if measured else self.unmeasured).add(task)
        task.add_done_callback(lambda t: self._done(t, measured, stream))
        return task, measured

    def _done(self, task: asyncio.Task[RequestResult], measured: bool, stream: int | None) -> None:
        (self.measured if measured else self.unmeasured).discard(task)
        if task.cancelled() or task.exception() is not None:
            if measured:
                self.window.in_flight -= 1
            if not task.cancelled():
                self.errors.append(task.exception())  # type: ignore[arg-type]
            return
        if measured:
            self.window.in_flight -= 1
            self.results.append(task.result())
            if self.on_result:
                self.on_result(task.result())
        elif not self.window.closed:
            self.window.warmed_up(stream)
        if self.window.done:  # the load was only kept on for the measured requests
            for other in list(self.unmeasured):
                other.cancel()

    async def stream(self, i: int) -> None:
        """One closed-loop stream: the next request starts when the last one ends."""
        while not self.window.done:
            launched = self.launch(i)
            if launched is None:
                return
            task, _ = launched
            await asyncio.wait({task})  # a cancelled cool-down request ends the stream
            if task.cancelled() or task.exception() is not None:
                return  # an exception is raised by finish(), once the rest has settled

    async def arrivals(self, rate: float, seed: int) -> None:
        """Poisson arrivals: exponential gaps, whatever is in flight."""
        rng = random.Random(seed)
        due = time.perf_counter()
        while not self.window.done:
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if self.launch(None) is None:
                break
            due += rng.expovariate(rate)

    async def finish(self) -> None:
        if self.measured:
            await asyncio.gather(*self.measured, return_exceptions=True)
        for task in list(self.unmeasured):
            task.cancel()
        if self.unmeasured:
            await asyncio.gather(*self.unmeasured, return_exceptions=True)
        if self.errors:
            raise self.errors[0]
