"""How fast `unitcost report` reads a big ledger, and how fast the dashboard answers.

    python bench/report_speed.py                      # 10M rows (Parquet + SQLite), 1M for the dashboard
    python bench/report_speed.py --rows 2000000 --engines parquet
    python bench/report_speed.py --engines sqlite,postgresql --store-sql   # + today's SQL path

Generates a month of synthetic ledger rows (20 tenants, 3 features each, 4 cohorts, 100,000
end users, six deployments behind two routes, 95% ok, 3% cache hits, 1.5% upstream errors,
0.5% rejections) with SQL inside each engine, then times:

- `unitcost report` end to end (a subprocess, charts and CSVs included) on each engine, and
  a baseline in the same run: one bare pass over the same ledger (`SELECT COUNT(*),
  SUM(cost_nanos)`), the least any report must read. Target: < 10 s on 10M rows.
  On SQLite and PostgreSQL the report reads the ledger's columnar copy (report.columnar):
  the first run builds it (once; `--rebuild` times that again), then --new-rows rows are
  appended after the last, as a gateway would, and the report is timed again: it syncs
  just those and reads the copy. `--store-sql` also times the report on the store's own
  SQL (UNITCOST_COLUMNAR=off), the path before the copy: minutes at 10M rows.
- the dashboard on a 1M-row SQLite ledger: the cold build of its cube, an incremental
  refresh after 1,000 new rows, and a warm `/dashboard/api/summary` answer (median of 5).
  Target: < 500 ms.

The ledgers and their copies are kept in --dir, so a second run skips generating them (each
run appends --new-rows more rows).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from unitcost.ledger import queries as q
from unitcost.ledger.store import open_store
from unitcost.report.columnar import copy_dir
from unitcost.report.dashboard import dashboard_data
from unitcost.report.live import LiveCube

START = 1772323200  # 2026-03-01T00:00:00Z
MONTH_S = 31 * 86400

# one row per i; `h` is a multiplicative hash of i, identical in SQLite and DuckDB (integer
# division is written (h - h % d) / d, exact in both)
_ROW = """
SELECT 'c' || CAST(i AS VARCHAR) AS id, 'r' || CAST(i AS VARCHAR) AS request_id, ts,
  'tenant-' || CAST(h % 20 AS VARCHAR) AS tenant, 'chat/completions' AS endpoint,
  CASE WHEN h % 3 = 0 THEN 'auto' ELSE 'dep-' || CAST(h % 6 AS VARCHAR) END AS requested,
  CASE WHEN h % 200 = 7 THEN '' WHEN h % 3 = 0 THEN 'dep-' || CAST(CAST((h - h % 7) / 7 AS BIGINT) % 2 AS VARCHAR)
       ELSE 'dep-' || CAST(h % 6 AS VARCHAR) END AS deployment,
  CASE WHEN h % 200 = 7 THEN 'rejected' WHEN h % 100 < 3 THEN 'cache_hit'
       WHEN h % 200 < 9 THEN 'upstream_error' ELSE 'ok' END AS status,
  CASE WHEN h % 200 = 7 THEN 429 WHEN h % 100 < 3 THEN 200 WHEN h % 200 < 9 THEN 502
       ELSE 200 END AS http_status,
  (h % 2 = 0) AS stream,
  'feature-' || CAST(((h % 20) * 3 + CAST((h - h % 20) / 20 AS BIGINT) % 3) % 12 AS VARCHAR) AS feature,
  'cohort-' || CAST(CAST((h - h % 60) / 60 AS BIGINT) % 4 AS VARCHAR) AS cohort,
  'user-' || CAST(CAST((h - h % 240) / 240 AS BIGINT) % 100000 AS VARCHAR) AS end_user, 'learned' AS route_reason,
  200 + h % 1800 AS prompt_tokens, h % 150 AS cached_tokens, 20 + h % 600 AS completion_tokens,
  h % 90 AS reasoning_tokens, FALSE AS tokens_estimated, 150.0 AS ttft_ms,
  400.0 + h % 3000 AS latency_ms, 'list price: bench' AS price_origin,
  CASE WHEN h % 200 < 9 AND h % 200 <> 7 AND h % 100 >= 3 THEN 'upstream answered 502'
       WHEN h % 200 = 7 THEN 'rate limit' END AS error,
  'key-' || CAST(h % 40 AS VARCHAR) AS key_id, CAST(NULL AS VARCHAR) AS workload_class,
  0 AS cache_write_tokens, 380.0 AS upstream_ms,
  {paid} * (200 + h % 1800 - h % 150) * (250 + 500 * (h % 6)) AS cost_input_nanos,
  {paid} * (h % 150) * 25 AS cost_cached_input_nanos, 0 AS cost_cache_write_nanos,
  {paid} * (20 + h % 600 - h % 90) * (1000 + 2000 * (h % 6)) AS cost_output_nanos,
  {paid} * (h % 90) * (1000 + 2000 * (h % 6)) AS cost_reasoning_nanos,
  {paid} * ((200 + h % 1800 - h % 150) * (250 + 500 * (h % 6)) + (h % 150) * 25
     + (20 + h % 600) * (1000 + 2000 * (h % 6))) AS cost_nanos,
  CASE WHEN h % 100 < 3 AND h % 200 <> 7 THEN 900000 ELSE 0 END AS saving_nanos,
  0 AS hold_micros, CAST(NULL AS VARCHAR) AS guard_action,
  CAST(NULL AS VARCHAR) AS guard_reasons, CAST(NULL AS DOUBLE PRECISION) AS guard_ms, {day} AS day
FROM (SELECT i, {start} + i * ({month}.0 / {n}) AS ts, (i * 2654435761) % 4294967296 AS h
      FROM {seq} AS q) AS s
"""
_PAID = "(CASE WHEN h % 100 < 3 OR h % 200 = 7 OR h % 200 < 9 THEN 0 ELSE 1 END)"


def _sql(n: int, seq: str, day: str) -> str:
    return _ROW.format(paid=_PAID, day=day, start=START, month=MONTH_S, n=n, seq=seq)


def make_sqlite(path: Path, n: int) -> str:
    url = f"sqlite:///{path}"
    if path.exists():
        return url
    open_store(url).close()  # the real schema, migrated to the current version
    conn = sqlite3.connect(path)
    seq = f"(WITH RECURSIVE t(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM t WHERE i < {n - 1}) SELECT i FROM t)"
    sql = _sql(n, seq, "strftime('%Y-%m-%d', ts, 'unixepoch')")
    from unitcost.ledger.record import COLUMNS

    conn.execute(f"INSERT INTO usage ({', '.join(COLUMNS)}) SELECT * FROM ({sql})")
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()
    return url


def make_postgres(url: str, n: int) -> str:
    import psycopg

    name = url.rsplit("/", 1)[1]  # a fresh server lacks the bench's database: create it
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        if (
            admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            is None
        ):
            admin.execute(f'CREATE DATABASE "{name}"')
    store = open_store(url)  # the real schema, migrated to the current version
    store.close()
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT COUNT(*) FROM usage").fetchone()
        if row is not None and n <= row[0] < n + 1_000_000:  # earlier runs appended a few
            return url
        from unitcost.ledger.record import COLUMNS

        conn.execute("TRUNCATE usage")
        seq = f"(SELECT i FROM generate_series(0, {n - 1}) AS g(i))"
        day = "to_char(to_timestamp(ts) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        conn.execute(
            f"INSERT INTO usage ({', '.join(COLUMNS)}) SELECT * FROM ({_sql(n, seq, day)}) AS r"
        )
        conn.execute("VACUUM ANALYZE usage")
    return url


def make_parquet(path: Path, n: int) -> str:
    if not path.exists():
        import duckdb

        conn = duckdb.connect()
        sql = _sql(
            n, f"(SELECT range AS i FROM range({n}))", "strftime(to_timestamp(ts), '%Y-%m-%d')"
        )
        conn.execute(f"COPY ({sql}) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)")
        conn.close()
    return f"parquet:///{path}"


def timed(fn: object) -> float:
    t = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - t


def bare_pass(url: str) -> tuple[float, int]:
    """Seconds for one bare pass over the ledger, and its rows."""
    reader = q.open_reader(url)
    try:
        t = time.perf_counter()
        rows = reader.run("SELECT COUNT(*), SUM(cost_nanos) FROM usage")
        return time.perf_counter() - t, int(rows[0][0])
    finally:
        reader.close()


def run_report(url: str, out: Path, columnar: bool = True) -> float:
    cmd = [sys.executable, "-m", "unitcost", "report", "--ledger", url, "--out", str(out)]
    env = {**os.environ, "UNITCOST_COLUMNAR": "on" if columnar else "off"}
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t


def append_new_rows(url: str, n: int) -> None:
    """n rows like the first ones, later than every row before (over one second, as a
    gateway appends its traffic while time goes on)."""
    reader = q.open_reader(url)
    try:
        latest = float(reader.run("SELECT MAX(ts) FROM usage")[0][0])
    finally:
        reader.close()
    store = open_store(url)
    try:
        model = store.records(limit=min(n, 1000))
        stamp = time.time_ns()
        rows = [
            replace(model[i % len(model)], id=f"new-{stamp}-{i}", ts=latest + (i + 1) / n)
            for i in range(n)
        ]
        for i in range(0, n, 5000):
            store.append(rows[i : i + 5000])
    finally:
        store.close()


def bench_report(engine: str, url: str, args: argparse.Namespace, made: float) -> None:
    out = args.dir / f"report-{engine}"
    base, n = bare_pass(url)
    head = f"report, {n:,} rows ({engine})"
    if engine == "parquet":
        took = run_report(url, out)
        print(
            f"{head}: {took:.2f} s end to end; bare pass over the same ledger {base:.2f} s "
            f"({took / base:.1f}x); target < 10 s (ledger ready in {made:.0f} s)"
        )
        return
    if args.store_sql:
        sql = run_report(url, out, columnar=False)
        print(f"{head}, store's own SQL (no copy): {sql:.2f} s end to end ({sql / base:.1f}x)")
    copy = copy_dir(url)
    if args.rebuild and copy.exists():
        shutil.rmtree(copy)
    fresh = not (copy / "manifest.json").exists()
    first = run_report(url, out)
    print(
        f"{head}: first report {first:.2f} s"
        + (" (builds the columnar copy, once)" if fresh else " (copy already built)")
        + f"; bare pass over the ledger {base:.2f} s (ledger ready in {made:.0f} s)"
    )
    if args.new_rows:
        append_new_rows(url, args.new_rows)
    took = run_report(url, out)
    print(
        f"{head}: after {args.new_rows:,} new rows {took:.2f} s end to end (sync included), "
        f"{took / base:.1f}x the bare pass; target < 10 s"
    )


def bench_dashboard(path: Path, n: int) -> None:
    url = make_sqlite(path, n)
    base, _ = bare_pass(url)
    live = LiveCube(url, ttl=0.0)
    cold = timed(live.cells)
    store = open_store(url)
    new = [r for r in store.records(limit=1000)]
    for i, r in enumerate(new):
        r.id = f"bench-new-{time.time_ns()}-{i}"
    store.append(new)
    store.close()
    refresh = timed(live.cells)
    cells = live.cells()
    answers = [timed(lambda: dashboard_data(cells, q.Period())) for _ in range(5)]
    live.close()
    warm = statistics.median(answers)
    print(
        f"dashboard, {n:,} rows (SQLite): cold cube build {cold:.2f} s (bare scan {base:.2f} s, "
        f"{cold / base:.1f}x); refresh after 1,000 new rows {refresh * 1000:.0f} ms; "
        f"warm /api/summary answer {warm * 1000:.0f} ms ({len(cells):,} cells); target < 500 ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--dashboard-rows", type=int, default=1_000_000)
    ap.add_argument(
        "--engines", default="parquet,sqlite", help="comma-separated: parquet, sqlite, postgresql"
    )
    ap.add_argument(
        "--pg",
        default="postgresql://127.0.0.1/unitcost_bench_report",
        help="an existing database for the postgresql engine (its usage table is replaced)",
    )
    ap.add_argument("--dir", type=Path, default=Path("/tmp/unitcost-bench-report"))
    ap.add_argument("--new-rows", type=int, default=10_000, help="appended before the timed run")
    ap.add_argument("--rebuild", action="store_true", help="time building the copy again")
    ap.add_argument("--store-sql", action="store_true", help="also time the store's own SQL (slow)")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    os.environ["UNITCOST_COLUMNAR_DIR"] = str(args.dir / "columnar")  # copies beside the ledgers
    for engine in [e for e in args.engines.split(",") if e]:
        t = time.perf_counter()
        if engine == "parquet":
            url = make_parquet(args.dir / f"ledger-{args.rows}.parquet", args.rows)
        elif engine == "sqlite":
            url = make_sqlite(args.dir / f"ledger-{args.rows}.db", args.rows)
        elif engine == "postgresql":
            url = make_postgres(args.pg, args.rows)
        else:
            raise SystemExit(
                f"--engines: unknown {engine!r}; accepted: parquet, sqlite, postgresql"
            )
        bench_report(engine, url, args, time.perf_counter() - t)
    if args.dashboard_rows:
        bench_dashboard(args.dir / f"ledger-{args.dashboard_rows}.db", args.dashboard_rows)


if __name__ == "__main__":
    main()
