"""The long versions of tests/reliability: many kills, a wide race, Redis restarts.

    python bench/reliability.py [--kills 50] [--race 1000] [--restarts 5]

1. SIGKILL under load: `unitcost serve` (SQLite ledger, journal on) is killed with SIGKILL
   `--kills` times while 8 clients send requests (a third of them streams); after a final
   clean start, every request a client saw succeed must have its row, and no request may be
   answered twice. The baseline in the same run: the batched ledger without the journal
   (`ledger.journal: false`), which loses what was in memory.
2. A `--race`-way budget race across 2 workers with the limits in Redis: the budget fits
   exactly `--race // 40` calls.
3. `--restarts` Redis restarts (empty) under load against a budget: spend stays within it.

Everything runs on loopback against a fake upstream process and a Redis of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from unitcost.ledger.store import open_store
from unitcost.testing.processes import (
    CALL_USD,
    REPLICA_KEY,
    ClientLoad,
    GatewayProcess,
    fake_upstream_process,
    redis_server,
    replica_config,
)

KEY = REPLICA_KEY
HI = [{"role": "user", "content": "hi"}]


def config(upstream: str, ledger: str, redis: str | None = None, **tenant: Any) -> dict[str, Any]:
    values = replica_config(upstream, ledger, redis, **tenant)
    values["ledger"]["interval_s"] = 0.05  # the default batching interval
    return values


def kills(n: int, journal: bool) -> tuple[int, int, int]:
    tmp = Path(tempfile.mkdtemp(prefix="unitcost-kills-"))
    with fake_upstream_process() as upstream:
        values = config(upstream, f"sqlite:///{tmp}/l.db")
        values["ledger"]["journal"] = journal
        gw = GatewayProcess(values, tmp)
        with ClientLoad(gw.url) as load:
            for _ in range(n):
                gw.start()
                time.sleep(1.0)
                gw.kill()
        gw.start()
        gw.stop()
    rows = open_store(f"sqlite:///{tmp}/l.db").records(limit=10_000_000)
    recorded = {r.request_id for r in rows}
    answered = Counter(r.request_id for r in rows if r.status in ("ok", "cache_hit"))
    lost = sum(1 for rid in load.succeeded if rid not in recorded)
    return len(load.succeeded), lost, sum(1 for c in answered.values() if c > 1)


async def _burst(url: str, n: int) -> list[int]:
    body = {"model": "fake", "messages": HI, "max_tokens": 10}
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=n)) as client:
        replies = await asyncio.gather(
            *(
                client.post(
                    f"{url}/v1/chat/completions",
                    json=body,
                    headers={"authorization": f"Bearer {KEY}"},
                )
                for _ in range(n)
            )
        )
    return [r.status_code for r in replies]


def race(n: int) -> tuple[int, int, float]:
    tmp = Path(tempfile.mkdtemp(prefix="unitcost-race-"))
    fits = n // 40
    with redis_server() as (redis, _), fake_upstream_process(delay_s=0.5) as upstream:
        gw = GatewayProcess(
            config(upstream, f"sqlite:///{tmp}/l.db", redis, budget_usd_per_month=fits * CALL_USD),
            tmp,
            workers=2,
        ).start()
        try:
            codes = asyncio.run(_burst(gw.url, n))
        finally:
            gw.stop()
    spent = sum(r.cost_nanos for r in open_store(f"sqlite:///{tmp}/l.db").records(limit=10**6))
    return fits, codes.count(200), spent / 1e9


def restarts(n: int) -> tuple[float, float, int]:
    tmp = Path(tempfile.mkdtemp(prefix="unitcost-restarts-"))
    budget_calls = 400
    with redis_server() as (redis, restart), fake_upstream_process(delay_s=0.02) as upstream:
        gw = GatewayProcess(
            config(
                upstream,
                f"sqlite:///{tmp}/l.db",
                redis,
                budget_usd_per_month=budget_calls * CALL_USD,
            ),
            tmp,
            workers=2,
        ).start()
        try:
            with ClientLoad(gw.url, clients=6) as load:
                for _ in range(n):
                    time.sleep(1.5)
                    restart()
                time.sleep(3)
        finally:
            gw.stop()
    rows = open_store(f"sqlite:///{tmp}/l.db").records(limit=10**6)
    recorded = {r.request_id for r in rows}
    lost = sum(1 for rid in load.succeeded if rid not in recorded)
    return sum(r.cost_nanos for r in rows) / 1e9, budget_calls * CALL_USD, lost


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=50)
    ap.add_argument("--race", type=int, default=1000)
    ap.add_argument("--restarts", type=int, default=5)
    args = ap.parse_args()
    ok, lost, twice = kills(args.kills, journal=True)
    print(
        f"SIGKILL x{args.kills} under load, journal on: {ok} requests succeeded, "
        f"{lost} without a row ({lost / max(ok, 1):.2%}), {twice} answered twice"
    )
    ok0, lost0, _ = kills(min(args.kills, 10), journal=False)
    print(
        f"baseline, batched ledger without the journal, x{min(args.kills, 10)}: {ok0} "
        f"succeeded, {lost0} without a row ({lost0 / max(ok0, 1):.2%})"
    )
    fits, admitted, spent = race(args.race)
    print(
        f"{args.race}-way race across 2 workers, budget fits {fits}: {admitted} admitted, "
        f"${spent:.4f} spent of ${fits * CALL_USD:.4f}"
    )
    spent, budget, lost = restarts(args.restarts)
    print(
        f"{args.restarts} Redis restarts under load: ${spent:.4f} spent of a ${budget:.4f} "
        f"budget; {lost} succeeded requests without a row"
    )


if __name__ == "__main__":
    main()
