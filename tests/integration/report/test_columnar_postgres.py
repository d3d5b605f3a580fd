"""The columnar copy of a PostgreSQL ledger gives PostgreSQL's own SQL answers (and
SQLite's, for the same rows) exactly; a sync re-copies only the days whose rows changed,
late rows for an old day included, copies only the new rows of a day that grew later in
time, and a truncated table is copied anew."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from tests.unit.report.ledger_fixture import ROWS
from tests.unit.report.test_columnar import EDGE, answers
from unitcost.ledger import queries as q
from unitcost.ledger.record import UsageRecord
from unitcost.ledger.store import open_store
from unitcost.report import columnar

DB = "unitcost_columnar_test"  # its own database: other tests share `test`'s usage table


def _append(url: str, rows: list[UsageRecord]) -> None:
    store = open_store(url)
    try:
        store.append(rows)
    finally:
        store.close()


@pytest.fixture()
def pg_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    try:
        admin = psycopg.connect("postgresql://127.0.0.1/test", autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is needed: {exc}")
    with admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB]).fetchone():
            admin.execute(f"CREATE DATABASE {DB}")
    url = f"postgresql://127.0.0.1/{DB}"
    open_store(url).close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE usage")  # new storage: the copy of a previous test is stale
    _append(url, [*ROWS, EDGE])
    monkeypatch.setenv("UNITCOST_COLUMNAR_DIR", str(tmp_path / "columnar"))
    monkeypatch.setattr(columnar, "COPY_MIN_ROWS", 1)  # a copy even of these few rows
    return url


def _both(url: str) -> tuple[tuple[object, ...], tuple[object, ...]]:
    direct = q.open_reader(url)
    copy = columnar.open_report_reader(url, say=lambda _: None)
    try:
        assert isinstance(copy, columnar.ColumnarReader)
        return answers(copy), answers(direct)
    finally:
        direct.close()
        copy.close()


def test_copy_answers_equal_postgres_and_sqlite(pg_url: str, tmp_path: Path) -> None:
    from tests.unit.report.ledger_fixture import make_ledger

    by_copy, by_pg = _both(pg_url)
    assert by_copy == by_pg
    sqlite_url = make_ledger(tmp_path)
    _append(sqlite_url, [EDGE])
    sqlite = q.open_reader(sqlite_url)
    try:
        assert by_copy == answers(sqlite)
    finally:
        sqlite.close()


def test_sync_recopies_only_the_days_that_changed(pg_url: str) -> None:
    first = columnar.sync(pg_url, say=lambda _: None)
    assert (first.copied, first.rows, first.rebuilt) == (8, 8, True)
    assert columnar.sync(pg_url).copied == 0
    # a late row for 2026-03-02 (a journal replayed) and a row on a new day
    _append(
        pg_url,
        [replace(ROWS[0], id="late-1"), replace(ROWS[6], id="new-day", ts=ROWS[6].ts + 86400)],
    )
    step = columnar.sync(pg_url)
    assert (step.copied, step.rows, step.rebuilt) == (3 + 1, 10, False)  # 03-02 again, 03-11
    by_copy, by_pg = _both(pg_url)
    assert by_copy == by_pg


def _files(directory: Path) -> set[str]:
    return {p.name for p in directory.glob("*.parquet*")}


def test_a_day_that_grew_later_gets_only_its_new_rows(pg_url: str) -> None:
    first = columnar.sync(pg_url, say=lambda _: None)
    day = ROWS[6].day
    held = columnar.Manifest.load(first.directory / "manifest.json").segments
    assert sum(s.rows for s in held if s.day == day) == 1
    later = [replace(ROWS[6], id=f"later-{i}", ts=ROWS[6].ts + 60 * (i + 1)) for i in range(8)]
    for i, row in enumerate(later):
        _append(pg_url, [row])
        step = columnar.sync(pg_url)
        assert (step.copied, step.rebuilt) == (1, False)  # the new row only, not the day
        m = columnar.Manifest.load(step.directory / "manifest.json")
        parts = [s for s in m.segments if s.day == day]
        # one segment per sync until more than _TAIL_SEGMENTS, then merged back into one
        assert len(parts) == (
            i + 2 if i + 2 <= columnar._TAIL_SEGMENTS else i + 2 - columnar._TAIL_SEGMENTS
        )
        assert sum(s.rows for s in parts) == i + 2
        cubes = {s.cube for s in m.segments}
        assert _files(step.directory) == {s.file for s in m.segments} | cubes  # nothing stray
        if i in (0, 7):  # appended to, then just merged
            by_copy, by_pg = _both(pg_url)
            assert by_copy == by_pg


def test_files_a_killed_sync_left_are_removed(pg_url: str) -> None:
    first = columnar.sync(pg_url, say=lambda _: None)
    listed = _files(first.directory)
    (first.directory / "day-2026-03-02-orphan.parquet").write_bytes(b"half")
    (first.directory / "day-2026-03-02-other.parquet.tmp").write_bytes(b"half")
    columnar.sync(pg_url)
    assert _files(first.directory) == listed
    by_copy, by_pg = _both(pg_url)
    assert by_copy == by_pg


def test_a_truncated_table_is_copied_anew(pg_url: str) -> None:
    columnar.sync(pg_url, say=lambda _: None)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("TRUNCATE usage")
    _append(pg_url, ROWS[:2])  # same ids, same days, fewer rows: still another table
    again = columnar.sync(pg_url, say=lambda _: None)
    assert (again.rebuilt, again.rows) == (True, 2)
    by_copy, by_pg = _both(pg_url)
    assert by_copy == by_pg
