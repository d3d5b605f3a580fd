"""The steady-state window of a load level (unitcost.bench.runner), on a stub client whose
requests take a fixed time, so the rule itself is what is checked: which requests are
measured, and how much load each measured request ran under."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import pytest

from unitcost.bench.client import RequestResult
from unitcost.bench.prompts import Prompt
from unitcost.bench.runner import Level, Window, run_level


class StubClient:
    """Each request takes `service_s` (times a multiplier from `spread`, in turn); records the
    interval of every request, measured or not, cancelled or not."""

    def __init__(
        self, service_s: float = 0.02, first_extra_s: float = 0.0, spread: tuple[float, ...] = (1,)
    ) -> None:
        self.service_s, self.first_extra_s = service_s, first_extra_s
        self.spread = itertools.cycle(spread)  # service-time multipliers, in turn
        self.in_flight = 0
        self.sent = 0
        self.cancelled = 0
        self.intervals: list[tuple[float, float]] = []

    async def send(self, prompt: Prompt) -> RequestResult:
        self.sent += 1
        cold = self.sent == 1
        self.in_flight += 1
        started = time.perf_counter()
        try:
            await asyncio.sleep(
                self.service_s * next(self.spread) + (self.first_extra_s if cold else 0)
            )
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.in_flight -= 1
            self.intervals.append((started, time.perf_counter()))
        return RequestResult(started, time.perf_counter() - started, True, output_tokens=4)

    def load(self, r: RequestResult, slack_s: float = 0.004) -> int:
        """The fewest requests in flight (itself included) at 10%, 50% and 90% of `r`'s
        life; `slack_s` bridges a stream's moment between one request and the next."""
        points = [r.started + f * r.e2e_s for f in (0.1, 0.5, 0.9)]
        return min(
            sum(1 for a, b in self.intervals if a <= t + slack_s and b >= t - slack_s)
            for t in points
        )


def prompts() -> Any:
    return itertools.repeat(Prompt(messages=[{"role": "user", "content": "x"}], max_tokens=4))


def run(client: StubClient, level: Level, **kwargs: Any) -> list[RequestResult]:
    return asyncio.run(run_level(client, prompts(), level, **kwargs))  # type: ignore[arg-type]


@pytest.mark.parametrize("spread", [(1,), (1, 1.7, 2.5)])
def test_every_measured_request_runs_at_the_levels_full_concurrency(
    spread: tuple[float, ...],
) -> None:
    client = StubClient(spread=spread)
    results = run(client, Level(concurrency=4), requests=12, warmup=2)
    assert len(results) == 12
    for r in results:
        assert client.load(r) >= 4  # three others in flight with it
    assert client.sent >= 4 + 12  # warm-up: at least one request per stream
    if len(spread) > 1:  # streams out of step: the load was kept on while the last drained
        assert client.cancelled >= 1
    assert client.in_flight == 0  # nothing left running after the level


def test_the_window_opens_only_after_every_stream_finished_a_request() -> None:
    window = Window(streams=3, warmup=1, requests=5, duration_s=None)
    assert not window.take() and window.keep_loading()
    window.warmed_up(0)  # warmup=1 is met, but two streams have not finished one yet
    assert window.opened_at is None and not window.take()
    window.warmed_up(1)
    window.warmed_up(1)
    assert window.opened_at is None
    window.warmed_up(2)
    assert window.opened_at is not None
    assert [window.take() for _ in range(6)] == [True] * 5 + [False]
    assert window.closed and window.keep_loading()  # five measured still in flight
    window.in_flight = 0
    assert window.done and not window.keep_loading()


def test_a_cold_first_request_is_never_measured() -> None:
    client = StubClient(service_s=0.01, first_extra_s=0.2)
    results = run(client, Level(concurrency=2), requests=6, warmup=1)
    assert len(results) == 6
    assert max(r.e2e_s for r in results) < 0.15  # the slow cold request was warm-up


def test_warmup_zero_measures_exactly_what_it_sends() -> None:
    client = StubClient()
    results = run(client, Level(concurrency=3), requests=7, warmup=0)
    assert len(results) == 7 and client.sent == 7 and client.cancelled == 0


def test_duration_limits_the_window_and_the_load_stays_on_until_it_drains() -> None:
    client = StubClient(service_s=0.03)
    results = run(client, Level(concurrency=2), duration_s=0.2, warmup=1)
    assert 4 <= len(results) <= 20
    assert all(client.load(r) >= 2 for r in results)


def test_poisson_arrivals_measure_after_warmup_and_drain_under_load() -> None:
    client = StubClient(service_s=0.05)
    results = run(client, Level(rate=200.0), requests=20, warmup=5, seed=3)
    assert len(results) == 20
    assert client.sent > 25  # warm-up and cool-down arrivals around the 20 measured
    assert client.in_flight == 0


def test_a_request_that_raises_is_raised_after_the_level_settles() -> None:
    class Broken(StubClient):
        async def send(self, prompt: Prompt) -> RequestResult:
            await asyncio.sleep(0.001)
            raise ValueError("no usage and no tokenizer")

    with pytest.raises(ValueError, match="no tokenizer"):
        run(Broken(), Level(concurrency=2), requests=4, warmup=1)
