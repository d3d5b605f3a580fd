"""An experiment, not shipped: per-day row counts kept in a PostgreSQL ledger by statement
triggers, so the report's sync would read which days changed instead of counting an index
of every row. What they would save the sync, and what they cost the ledger's writers.

The triggers (installed here, on this script's own database) add one grouped upsert into
`usage_days` per INSERT statement, in the writer's transaction. Measured with them enabled
and disabled (alternating rounds): a commit per row, a batch of 512 rows (the gateway's
writer), and 4 writers committing rows at once (they all update today's counter row, so
they queue on its lock). Then, on the 10M-row ledger of `bench/report_speed.py` if it is
there, "rows per day" counted from the day index against read from a table of counts.

    python bench/ledger_day_counts.py [--rows 400]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).parent))
from durability import row
from unitcost.ledger.store import open_store

DB = "unitcost_bench_day_counts"
TRIGGER = "usage_days_added"
INSTALL = [
    "CREATE TABLE usage_days (day TEXT PRIMARY KEY, n BIGINT NOT NULL)",
    "CREATE FUNCTION usage_days_added() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN INSERT INTO usage_days (day, n) SELECT COALESCE(day, ''), COUNT(*) FROM added "
    "GROUP BY 1 ON CONFLICT (day) DO UPDATE SET n = usage_days.n + EXCLUDED.n; "
    "RETURN NULL; END $$",
    "CREATE TRIGGER usage_days_added AFTER INSERT ON usage REFERENCING NEW TABLE AS added "
    "FOR EACH STATEMENT EXECUTE FUNCTION usage_days_added()",
]


def set_triggers(url: str, on: bool) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"ALTER TABLE usage {'ENABLE' if on else 'DISABLE'} TRIGGER {TRIGGER}")  # type: ignore[arg-type]


def per_row_us(url: str, n: int) -> float:
    store = open_store(url)
    try:
        times = []
        for _ in range(n):
            r = row()
            t = time.perf_counter()
            store.append([r])
            times.append(time.perf_counter() - t)
        return statistics.median(times) * 1e6
    finally:
        store.close()


def batch_us(url: str, rounds: int = 5) -> float:
    store = open_store(url)
    try:
        best = []
        for _ in range(rounds):
            batch = [row() for _ in range(512)]
            t = time.perf_counter()
            store.append(batch)
            best.append((time.perf_counter() - t) / len(batch) * 1e6)
        return statistics.median(best)
    finally:
        store.close()


def concurrent_rows_per_s(url: str, writers: int, n: int) -> float:
    stores = [open_store(url) for _ in range(writers)]
    try:

        def work(store: object) -> None:
            for _ in range(n):
                store.append([row()])  # type: ignore[attr-defined]

        threads = [threading.Thread(target=work, args=(s,)) for s in stores]
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return writers * n / (time.perf_counter() - t)
    finally:
        for s in stores:
            s.close()


def day_listing(url: str) -> None:
    try:
        conn = psycopg.connect(url, connect_timeout=3)
    except psycopg.Error:
        print(f"(no ledger at {url}: run bench/report_speed.py --engines postgresql first)")
        return
    with conn:
        rows = conn.execute("SELECT COUNT(*) FROM usage").fetchone()
        t = time.perf_counter()
        counted = conn.execute("SELECT day, COUNT(*) FROM usage GROUP BY day").fetchall()
        count_s = time.perf_counter() - t
        conn.execute(
            "CREATE TEMP TABLE usage_days AS SELECT COALESCE(day, '') AS day, COUNT(*) AS n "
            "FROM usage GROUP BY 1"
        )  # what the triggers would hold
        t = time.perf_counter()
        read = conn.execute("SELECT day, n FROM usage_days WHERE n > 0").fetchall()
        read_s = time.perf_counter() - t
    same = {(d or "", n) for d, n in counted} == set(read)
    print(
        f"rows per day on {rows[0] if rows else 0:,} rows: counted from the day index "
        f"{count_s * 1000:.0f} ms; read from usage_days {read_s * 1000:.1f} ms "
        f"({count_s / max(read_s, 1e-9):.0f}x faster); same answer: {same}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=400, help="rows per measurement")
    ap.add_argument("--server", default="postgresql://127.0.0.1")
    ap.add_argument("--report-ledger", default="postgresql://127.0.0.1/unitcost_bench_report")
    args = ap.parse_args()
    with psycopg.connect(f"{args.server}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB}")  # type: ignore[arg-type]
        admin.execute(f"CREATE DATABASE {DB}")  # type: ignore[arg-type]
    url = f"{args.server}/{DB}"
    open_store(url).close()
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in INSTALL:
            conn.execute(statement)  # type: ignore[arg-type]
    results: dict[str, dict[bool, list[float]]] = {}
    for _ in range(3):  # alternating rounds: on, off, on, off, ...
        for on in (True, False):
            set_triggers(url, on)
            for name, value in (
                ("commit per row, p50 µs", per_row_us(url, args.rows)),
                ("batch of 512, µs per row", batch_us(url)),
                ("4 writers, rows/s", concurrent_rows_per_s(url, 4, args.rows // 4)),
            ):
                results.setdefault(name, {True: [], False: []})[on].append(value)
    set_triggers(url, True)
    print(f"{'PostgreSQL ledger writes':<28}{'counts on':>12}{'counts off':>12}{'on/off':>8}")
    for name, by in results.items():
        on, off = statistics.median(by[True]), statistics.median(by[False])
        print(f"{name:<28}{on:>12.1f}{off:>12.1f}{on / off:>8.2f}")
    day_listing(args.report_ledger)
    with psycopg.connect(f"{args.server}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {DB}")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
