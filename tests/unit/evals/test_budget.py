"""The hard cap: concurrent reservations never let spent + reserved pass it."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from unitcost.evals.budget import Budget


def test_concurrent_calls_never_overshoot_the_cap() -> None:
    budget = Budget(cap_nanos=1_000_000)
    peak = [0]
    lock = threading.Lock()
    rng = random.Random(0)
    plans = [(rng.randint(10_000, 200_000), rng.random()) for _ in range(300)]

    def call(plan: tuple[int, float]) -> int:
        worst, used = plan
        hold = budget.reserve(worst)
        if hold is None:
            return 0
        with lock:
            peak[0] = max(peak[0], budget.spent + budget.reserved)
        time.sleep(0.001)
        actual = int(worst * used)  # an upstream that honours max_tokens spends ≤ its hold
        budget.settle(hold, actual)
        return actual

    with ThreadPoolExecutor(16) as pool:
        spent = sum(pool.map(call, plans))
    assert spent == budget.spent <= 1_000_000
    assert peak[0] <= 1_000_000
    assert budget.reserved == 0
    assert budget.refused > 0  # 300 calls of up to $0.0002 each do not fit in $0.001


def test_a_hold_that_cannot_fit_with_nothing_in_flight_is_refused() -> None:
    budget = Budget(cap_nanos=100)
    assert budget.reserve(101) is None
    hold = budget.reserve(60)
    assert hold is not None and budget.remaining == 40


def test_a_hold_waits_for_calls_in_flight_to_give_back() -> None:
    budget = Budget(cap_nanos=100)
    first = budget.reserve(80)
    assert first is not None
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(budget.reserve(50)))
    waiter.start()
    time.sleep(0.05)
    assert not got  # 80 + 50 > 100: it waits
    budget.settle(first, 30)  # the call used 30 of its 80
    waiter.join(2)
    assert got and got[0] is not None
    assert budget.spent + budget.reserved == 80


def test_an_upstream_that_spends_past_its_hold_closes_the_budget() -> None:
    budget = Budget(cap_nanos=1000)
    hold = budget.reserve(100)
    assert hold is not None
    budget.settle(hold, 250, "t/v/1")
    assert budget.closed and "did not honour max_tokens" in budget.overruns[0]
    assert budget.reserve(1) is None


def test_no_cap_reserves_everything() -> None:
    budget = Budget()
    hold = budget.reserve(10**12)
    assert hold is not None
    budget.settle(hold, 10**13)
    assert not budget.closed and budget.remaining is None
