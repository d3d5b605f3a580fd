"""Many processes, one ledger and one set of budgets: races, kills and a Redis restart.

Each test runs `unitcost serve` as real processes against a fake upstream process, the
machine's PostgreSQL where named, and a Redis server of the test's own (restartable).
Short versions for CI; `bench/reliability.py` runs the long ones.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest

from unitcost.ledger.store import open_store
from unitcost.testing.processes import (
    CALL_USD,
    REPLICA_KEY,
    ClientLoad,
    fake_upstream_process,
    redis_server,
    replica_config,
)
from unitcost.testing.processes import GatewayProcess as Gateway

KEY = REPLICA_KEY
HI = [{"role": "user", "content": "hi"}]


def folder(parent: Path, name: str) -> Path:
    (parent / name).mkdir()
    return parent / name


async def burst(urls: list[str], n: int) -> list[httpx.Response]:
    body = {"model": "fake", "messages": HI, "max_tokens": 10}
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=n)) as client:
        return await asyncio.gather(
            *(
                client.post(
                    f"{urls[i % len(urls)]}/v1/chat/completions",
                    json=body,
                    headers={"authorization": f"Bearer {KEY}"},
                )
                for i in range(n)
            )
        )


def test_two_workers_share_one_budget_exactly(tmp_path: Path) -> None:
    with redis_server() as (redis, _), fake_upstream_process(delay_s=0.3) as upstream:
        gw = Gateway(
            replica_config(
                upstream, f"sqlite:///{tmp_path}/l.db", redis, budget_usd_per_month=5 * CALL_USD
            ),
            tmp_path,
            workers=2,
        ).start()
        try:
            replies = asyncio.run(burst([gw.url], 200))
        finally:
            gw.stop()
    codes = Counter(r.status_code for r in replies)
    assert codes == {200: 5, 429: 195}
    store = open_store(f"sqlite:///{tmp_path}/l.db")
    rows = store.records(limit=1000)
    assert sum(r.cost_nanos for r in rows) <= 5 * CALL_USD * 1e9
    assert len({r.request_id for r in rows}) == 200  # every request has its row


def test_two_replicas_on_postgres_and_redis_share_budgets_and_rate(tmp_path: Path) -> None:
    """The multi-host recipe on one machine: two `unitcost serve`, one PostgreSQL ledger, one
    Redis; a budget and a requests-per-minute limit hold across both."""
    import psycopg

    admin = os.environ.get(
        "UNITCOST_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    name = f"unitcost_test_{uuid.uuid4().hex[:10]}"
    ledger = admin.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    try:
        with redis_server() as (redis, _), fake_upstream_process(delay_s=0.2) as upstream:
            values = replica_config(upstream, ledger, redis, budget_usd_per_month=6 * CALL_USD)
            a = Gateway(values, folder(tmp_path, "a"))
            b = Gateway(values, folder(tmp_path, "b"))
            a.start(), b.start()
            try:
                replies = asyncio.run(burst([a.url, b.url], 60))
                limited = replica_config(upstream, ledger, redis, requests_per_minute=10)
            finally:
                a.stop(), b.stop()
            assert Counter(r.status_code for r in replies) == {200: 6, 429: 54}
            c = Gateway(limited, folder(tmp_path, "c"))
            d = Gateway(limited, folder(tmp_path, "d"))
            c.start(), d.start()
            try:
                replies = asyncio.run(burst([c.url, d.url], 30))
            finally:
                c.stop(), d.stop()
            assert Counter(r.status_code for r in replies)[200] == 10
        store = open_store(ledger)
        assert store.usage([])[0]["cost_nanos"] <= 6 * CALL_USD * 1e9 + 10 * CALL_USD * 1e9
        store.close()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")  # type: ignore[arg-type]


@pytest.mark.parametrize("ledger", ["sqlite", "postgres"])
def test_sigkill_under_load_loses_and_duplicates_nothing(tmp_path: Path, ledger: str) -> None:
    import psycopg

    admin = os.environ.get(
        "UNITCOST_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    name = f"unitcost_test_{uuid.uuid4().hex[:10]}"
    url = (
        f"sqlite:///{tmp_path}/l.db" if ledger == "sqlite" else admin.rsplit("/", 1)[0] + f"/{name}"
    )
    if ledger == "postgres":
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    values = replica_config("", url)
    values["ledger"]["journal_dir"] = str(tmp_path / "journal")
    try:
        with fake_upstream_process() as upstream:
            values["deployments"][0]["options"]["url"] = upstream
            gw = Gateway(values, tmp_path)
            with ClientLoad(gw.url) as load:
                for _ in range(10):
                    gw.start()
                    time.sleep(1.0)
                    gw.kill()
            gw.start()  # recovers the last crash's journal
            gw.stop()
        store = open_store(url)
        rows = store.records(limit=1_000_000)
        store.close()
    finally:
        if ledger == "postgres":
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE {name} WITH (FORCE)")  # type: ignore[arg-type]
    assert len(load.succeeded) > 50  # the load really ran
    recorded = {r.request_id for r in rows}
    lost = [rid for rid in load.succeeded if rid not in recorded]
    assert lost == []
    answered = Counter(r.request_id for r in rows if r.status in ("ok", "cache_hit"))
    assert max(answered.values()) == 1  # no request was answered (or billed) twice
    assert len({r.id for r in rows}) == len(rows)


def test_a_redis_restart_mid_load_overspends_nothing_and_loses_nothing(tmp_path: Path) -> None:
    budget_calls = 40
    with redis_server() as (redis, restart), fake_upstream_process(delay_s=0.02) as upstream:
        values = replica_config(
            upstream,
            f"sqlite:///{tmp_path}/l.db",
            redis,
            budget_usd_per_month=budget_calls * CALL_USD,
        )
        gw = Gateway(values, tmp_path, workers=2).start()
        try:
            with ClientLoad(gw.url, clients=4, stream_every=1000) as load:
                time.sleep(0.5)
                restart()
                time.sleep(2.5)
        finally:
            gw.stop()
    store = open_store(f"sqlite:///{tmp_path}/l.db")
    rows = store.records(limit=100_000)
    spent = sum(r.cost_nanos for r in rows)
    assert spent <= budget_calls * CALL_USD * 1e9
    assert 0 < sum(1 for r in rows if r.status == "ok") <= budget_calls
    recorded = {r.request_id for r in rows}
    assert [rid for rid in load.succeeded if rid not in recorded] == []
