"""What it costs to make a ledger row durable before the client's last byte, per row.

The gateway must not answer a request whose row could still be lost. Two ways to get there:
append the row to a local journal first (one copy into a memory-mapped file, replayed at
start-up), or commit it to the ledger store synchronously. This measures each on this
machine, against the batched write that follows either way, so the choice is a number.

    python bench/durability.py [--rows 2000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from unitcost.ledger.journal import Journal
from unitcost.ledger.record import UsageRecord
from unitcost.ledger.store import open_store


def row() -> UsageRecord:
    return UsageRecord(
        id=uuid.uuid4().hex,
        request_id=uuid.uuid4().hex,
        ts=time.time(),
        tenant="acme",
        endpoint="chat/completions",
        requested="fake",
        deployment="fake",
        status="ok",
        http_status=200,
        feature="search",
        prompt_tokens=812,
        completion_tokens=64,
        cost_nanos=331_000,
        price_origin="list price: bench",
    )


def per_row(name: str, write: Callable[[UsageRecord], None], n: int) -> tuple[str, float, float]:
    rows = [row() for _ in range(n)]
    times = []
    for r in rows:
        t = time.perf_counter()
        write(r)
        times.append(time.perf_counter() - t)
    times.sort()
    return name, statistics.median(times) * 1e6, times[int(0.99 * (n - 1))] * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="unitcost-durability-"))
    results = []
    journal = Journal.open(tmp / "journal")
    results.append(per_row("journal, mmap copy per row (default)", journal.done, args.rows))
    synced = Journal.open(tmp / "journal-fsync", fsync=True)
    results.append(per_row("journal, copy + msync per row", synced.done, args.rows // 4))
    sqlite = open_store(f"sqlite:///{tmp}/ledger.db")
    results.append(
        per_row("SQLite commit per row (WAL, NORMAL)", lambda r: sqlite.append([r]), args.rows)
    )
    sqlite.conn.execute("PRAGMA synchronous=FULL")  # type: ignore[attr-defined]
    results.append(
        per_row("SQLite commit per row (WAL, FULL)", lambda r: sqlite.append([r]), args.rows // 4)
    )
    try:
        pg = open_store(args.postgres)
        results.append(
            per_row("PostgreSQL commit per row", lambda r: pg.append([r]), args.rows // 2)
        )
        batch = [row() for _ in range(512)]
        t = time.perf_counter()
        pg.append(batch)
        pg_batch = (time.perf_counter() - t) / len(batch) * 1e6
    except Exception as exc:
        print(f"(PostgreSQL skipped: {exc})")
        pg_batch = None
    batch = [row() for _ in range(512)]
    t = time.perf_counter()
    sqlite.append(batch)
    sqlite_batch = (time.perf_counter() - t) / len(batch) * 1e6
    print(f"per-row cost of making a row durable before the last byte ({os.cpu_count()} CPUs)")
    print(f"{'mechanism':<40}{'p50 µs':>10}{'p99 µs':>10}")
    for name, p50, p99 in results:
        print(f"{name:<40}{p50:>10.1f}{p99:>10.1f}")
    print(f"{'(baseline) SQLite batch of 512, per row':<40}{sqlite_batch:>10.1f}")
    if pg_batch is not None:
        print(f"{'(baseline) PostgreSQL batch of 512, per row':<40}{pg_batch:>10.1f}")
    journal_p50 = results[0][1]
    for name, p50, _ in results[2:]:
        print(f"{name}: {p50 / journal_p50:.1f}× the journal's p50")
    journal.close()
    synced.close()


if __name__ == "__main__":
    main()
