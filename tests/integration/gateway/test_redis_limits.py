"""The Redis backend of budgets and rate limits, against a real Redis of the test's own."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from unitcost.errors import BudgetExceeded, LimitExceeded, Unavailable
from unitcost.gateway.limits import Ask, BucketPlan
from unitcost.gateway.limits import redis as redis_limits
from unitcost.gateway.limits.buckets import Budget
from unitcost.gateway.limits.redis import RedisLimits
from unitcost.gateway.settings import LimitsConfig, load_settings
from unitcost.testing.processes import redis_server


@pytest.fixture(scope="module")
def redis() -> Iterator[tuple[str, Any]]:
    with redis_server() as server:
        yield server


def plan(**tenant: Any) -> BucketPlan:
    return BucketPlan(
        load_settings(
            None,
            tenants=[{"name": "acme", "keys": ["k"], **tenant}],
            deployments=[{"name": "d", "backend": "replay", "options": {"model": "gpt-5-mini"}}],
        )
    )


def limits(
    url: str, p: BucketPlan, prefix: str, spent: int | dict[str, int] = 0, **config: Any
) -> RedisLimits:
    """`spent`: the ledger's sum, or its rows (call id → micro-dollars)."""

    async def from_ledger(budget: Budget, without: Sequence[str]) -> int:
        if isinstance(spent, int):
            return spent
        return sum(v for k, v in spent.items() if k not in without)

    return RedisLimits(
        p, LimitsConfig(backend="redis", redis_url=url, key_prefix=prefix, **config), from_ledger
    )


def ask(micros: int, first: bool = False, tokens: int = 0) -> Ask:
    return Ask("acme", None, None, micros, tokens, first)


def test_two_replicas_share_one_budget(redis) -> None:  # type: ignore[no-untyped-def]
    url, _ = redis
    p = plan(budget_usd_per_month=0.01)

    async def run() -> tuple[int, int]:
        a, b = limits(url, p, "t1:"), limits(url, p, "t1:")
        await a.start(), await b.start()

        async def one(i: int) -> bool:
            try:
                await (a if i % 2 else b).reserve(ask(2_000))
                return True
            except BudgetExceeded:
                return False

        admitted = sum(await asyncio.gather(*(one(i) for i in range(40))))
        await a.close(), await b.close()
        return admitted, 0

    assert asyncio.run(run())[0] == 5


def test_settle_refund_and_an_expired_hold(redis) -> None:  # type: ignore[no-untyped-def]
    url, _ = redis
    p = plan(budget_usd_per_month=0.01)

    async def run() -> None:
        lim = limits(url, p, "t2:", hold_ttl_s=0.2)
        await lim.start()
        first = await lim.reserve(ask(6_000))
        with pytest.raises(BudgetExceeded) as info:
            await lim.reserve(ask(6_000))
        assert "held for calls in flight $0.0060" in info.value.message
        await lim.settle(first, 1_000)  # it cost less than held
        lost = await lim.reserve(ask(8_000))  # 1,000 spent + 8,000 held
        await asyncio.sleep(0.3)  # nobody settles it: its gateway "died"
        with pytest.raises(BudgetExceeded):  # the expired hold was charged in full
            await lim.reserve(ask(2_000))
        await lim.settle(lost, 500)  # the caller was only slow: spend corrects to 500
        await lim.reserve(ask(8_000))
        await lim.close()

    asyncio.run(run())


def test_rates_in_redis(redis) -> None:  # type: ignore[no-untyped-def]
    url, _ = redis
    p = plan(requests_per_minute=3, tokens_per_minute=1000)

    async def run() -> None:
        lim = limits(url, p, "t3:")
        await lim.start()
        for _ in range(3):
            await lim.reserve(ask(0, first=True, tokens=10))
        with pytest.raises(LimitExceeded, match="3 requests per minute") as info:
            await lim.reserve(ask(0, first=True, tokens=10))
        assert int(info.value.headers["retry-after"]) >= 1
        with pytest.raises(LimitExceeded, match="more than a minute's worth"):
            await lim.reserve(ask(0, tokens=5000))
        await lim.close()

    asyncio.run(run())


def test_an_empty_redis_is_rebuilt_from_the_ledger(redis, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    url, restart = redis
    monkeypatch.setattr(redis_limits, "REBUILD_GRACE_S", 0.3)
    monkeypatch.setattr(redis_limits, "POLL_S", 0.02)
    p = plan(budget_usd_per_month=0.01)

    async def run() -> None:
        lim = limits(url, p, "t4:", spent=9_000)  # the ledger says $0.009 spent this month
        flushed = []

        async def flush() -> None:
            flushed.append(time.time())

        lim.flush_ledger = flush
        await lim.start()
        with pytest.raises(BudgetExceeded):
            await lim.reserve(ask(2_000))
        in_flight = await lim.reserve(ask(500))
        await asyncio.to_thread(restart)  # Redis comes back empty
        await asyncio.sleep(0.15)
        with pytest.raises(Unavailable) as info:  # fail closed while the rebuild settles
            await lim.reserve(ask(100))
        assert info.value.status_code == 503 and flushed
        await asyncio.sleep(0.4)
        # rebuilt: 9,000 from the ledger + the 500 still in flight, re-registered
        with pytest.raises(BudgetExceeded) as again:
            await lim.reserve(ask(600))
        assert "held for calls in flight $0.0005" in again.value.message
        await lim.settle(in_flight, 500)
        await lim.close()

    asyncio.run(run())


@pytest.mark.parametrize("row_stored_before_rebuild", [False, True])
def test_a_call_settled_during_the_rebuild_is_counted_once(  # type: ignore[no-untyped-def]
    redis, monkeypatch, row_stored_before_rebuild
) -> None:
    """A call that settles after Redis restarted, before its bucket is rebuilt, is counted
    whether or not the ledger writer has stored its row by then, and never twice."""
    url, restart = redis
    monkeypatch.setattr(redis_limits, "REBUILD_GRACE_S", 0.3)
    monkeypatch.setattr(redis_limits, "POLL_S", 0.02)
    p = plan(budget_usd_per_month=0.0001)  # 100 micro-dollars
    ledger: dict[str, int] = {}

    async def run() -> None:
        lim = limits(url, p, f"t6{row_stored_before_rebuild}:", spent=ledger)
        await lim.start()
        call = await lim.reserve(ask(60))
        await asyncio.to_thread(restart)  # Redis comes back empty, the call still in flight
        await asyncio.sleep(0.1)  # noticed: its hold re-registered, admissions refused
        await lim.settle(call, 60)  # the call ends during the grace period
        if row_stored_before_rebuild:
            ledger[call.id] = 60
        await asyncio.sleep(0.4)
        with pytest.raises(BudgetExceeded):  # 60 spent + 50 > 100
            await lim.reserve(ask(50))
        ledger[call.id] = 60  # the writer stores the row after the rebuild: not again
        await lim.settle(await lim.reserve(ask(40)), 40)
        with pytest.raises(BudgetExceeded):  # 100 spent
            await lim.reserve(ask(1))
        await lim.close()

    asyncio.run(run())


def test_a_reserve_that_beats_the_poll_after_a_restart_waits_for_the_rebuild(  # type: ignore[no-untyped-def]
    redis, monkeypatch
) -> None:
    """A reserve that finds its bucket gone before the poll noticed Redis restarted must not
    rebuild it from a ledger still missing rows: it notices the restart itself, and waits."""
    url, restart = redis
    monkeypatch.setattr(redis_limits, "POLL_S", 60.0)  # the poll never gets there first
    p = plan(budget_usd_per_month=0.0001)

    async def run() -> None:
        lim = limits(url, p, "t7:", spent=0)  # the ledger has none of the in-flight call yet
        await lim.start()
        in_flight = await lim.reserve(ask(60))
        await asyncio.to_thread(restart)
        with pytest.raises(Unavailable, match="being rebuilt"):
            await lim.reserve(ask(50))
        assert in_flight.id in lim.in_flight
        await lim.close()

    asyncio.run(run())


def test_redis_down_fails_closed_or_open_as_configured() -> None:
    p = plan(budget_usd_per_month=1.0)

    async def run() -> None:
        closed = limits("redis://127.0.0.1:9/0", p, "t5:")
        await closed.start()
        with pytest.raises(Unavailable, match="unreachable"):
            await closed.reserve(ask(10))
        await closed.close()
        opened = limits("redis://127.0.0.1:9/0", p, "t5:", on_redis_error="allow")
        await opened.start()
        assert (await opened.reserve(ask(10))).empty
        await opened.close()

    asyncio.run(run())


def test_settle_never_suspends_and_keeps_its_order(redis) -> None:  # type: ignore[no-untyped-def]
    """Settling queues its script instead of awaiting Redis (no task, no wait per request),
    and a later admission on the connection still sees it; a script Redis forgot (SCRIPT
    FLUSH, as after a restart) is loaded again and the settle still lands."""
    url, _ = redis
    p = plan(budget_usd_per_month=0.01)  # 10,000 micro-dollars

    async def run() -> None:
        lim = limits(url, p, "t8:")
        await lim.start()
        first = await lim.reserve(ask(9_000))
        settling = lim.settle(first, 1_000)
        with pytest.raises(StopIteration):  # done at its first step: nothing awaited
            settling.send(None)
        second = await lim.reserve(ask(9_000))  # fits only once the 9,000 hold is released
        await lim.redis.call(b"SCRIPT", b"FLUSH")
        await lim.settle(second, 0)  # a refund, through the reloaded script
        await lim.redis.drain(2.0)
        await lim.reserve(ask(9_000))  # 1,000 spent + 9,000 held: fits exactly
        with pytest.raises(BudgetExceeded):
            await lim.reserve(ask(1))
        await lim.close()

    asyncio.run(run())
