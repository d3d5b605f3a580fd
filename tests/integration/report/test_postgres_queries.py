"""The report's SQL gives the same answers on PostgreSQL as on SQLite (same rows)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.unit.report.ledger_fixture import ROWS, make_ledger
from unitcost.ledger import queries as q
from unitcost.ledger.store import open_store

DB = "unitcost_report_test"  # its own database: other tests share `test`'s usage table


@pytest.fixture()
def pg_url() -> str:
    try:
        admin = psycopg.connect("postgresql://127.0.0.1/test", autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is needed: {exc}")
    with admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB]).fetchone():
            admin.execute(f"CREATE DATABASE {DB}")
    url = f"postgresql://127.0.0.1/{DB}"
    store = open_store(url)
    try:
        store.conn.execute("DELETE FROM usage")  # type: ignore[attr-defined]
        store.append(ROWS)
    finally:
        store.close()
    return url


def _answers(reader: q.Reader) -> tuple[object, ...]:
    p = q.Period("2026-03-01", "2026-03-31")
    return (
        sorted(q.cube(reader, p), key=repr),
        q.top_spenders(reader, "end_user", p),
        q.costliest(reader, p, 3),
        q.outcomes(reader, p),
        q.end_users(reader, p),
        q.daily_spend(reader, p),
        q.bounds(reader, p),
    )


def test_postgres_matches_sqlite(pg_url: str, tmp_path: Path) -> None:
    sqlite, pg = q.open_reader(make_ledger(tmp_path)), q.open_reader(pg_url)
    try:
        assert _answers(pg) == _answers(sqlite)
    finally:
        sqlite.close()
        pg.close()


def test_live_cube_on_postgres_rereads_the_last_day(pg_url: str) -> None:
    from dataclasses import replace

    from unitcost.report.live import LiveCube

    live = LiveCube(pg_url, ttl=0.0)
    try:
        before = sum(c.cost_nanos for c in live.cells())
        store = open_store(pg_url)
        try:  # one more row on the last day seen, one on a new day
            store.append(
                [
                    replace(ROWS[6], id="pg-late-1"),
                    replace(ROWS[6], id="pg-late-2", ts=ROWS[6].ts + 86400),
                ]
            )
        finally:
            store.close()
        cells = live.cells()
        assert sum(c.cost_nanos for c in cells) == before + 2 * 8_000_000
        assert max(c.day for c in cells) == "2026-03-11"
    finally:
        live.close()
