"""The report's columnar copy of a SQLite ledger gives the store's own SQL answers exactly:
built by Python or by DuckDB's sqlite scanner, caught up row by row, rebuilt when the ledger
is another, and falling back to SQL, in one line, when it can't be made."""

from __future__ import annotations

import hashlib
import sys
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from unitcost.errors import InputError
from unitcost.ledger import queries as q
from unitcost.ledger.record import UsageRecord
from unitcost.ledger.store import open_store
from unitcost.report import columnar, columnar_sources
from unitcost.report.inputs import ReportInputs
from unitcost.report.ledger_report import build_ledger_report, write_ledger_report

from .ledger_fixture import CARDS, ROWS, make_ledger

# text the CSV and Parquet paths must keep as it is: a comma, quotes, a newline, words a
# CSV reader may take for NULL, an empty feature (not NULL); a ts that is not a round number
EDGE = replace(
    ROWS[1],
    id='edge, "quoted"',
    request_id="NA",
    ts=1772500000.123456789,
    feature="",
    cohort="NULL",
    end_user="u,4",
    error='line one\nline "two"',
    status="upstream_error",
    cost_nanos=123_456_789_012,
    latency_ms=0.1,
    tokens_estimated=True,
)


def answers(reader: q.Reader) -> tuple[object, ...]:
    """Every query the report runs, on a period, a tenant and the whole ledger."""
    out: list[object] = []
    for p in (q.Period("2026-03-01", "2026-03-31"), q.Period(tenant="acme"), q.Period()):
        out += [
            sorted(q.cube(reader, p), key=repr),
            q.top_spenders(reader, "end_user", p),
            q.top_spenders(reader, "key_id", p),
            q.costliest(reader, p, 3),
            q.outcomes(reader, p),
            q.end_users(reader, p),
            q.daily_spend(reader, p),
            q.bounds(reader, p),
        ]
    return tuple(out)


def _direct(url: str) -> tuple[object, ...]:
    reader = q.open_reader(url)
    try:
        return answers(reader)
    finally:
        reader.close()


def _copied(url: str, said: list[str] | None = None) -> tuple[object, ...]:
    reader = columnar.open_report_reader(url, say=(said if said is not None else []).append)
    try:
        assert isinstance(reader, columnar.ColumnarReader)
        return answers(reader)
    finally:
        reader.close()


def _append(url: str, rows: list[UsageRecord]) -> None:
    store = open_store(url)
    try:
        store.append(rows)
    finally:
        store.close()


@pytest.fixture(autouse=True)
def small_ledgers_get_a_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(columnar, "COPY_MIN_ROWS", 0)


@pytest.fixture()
def ledger(tmp_path: Path) -> str:
    url = make_ledger(tmp_path)
    _append(url, [EDGE])
    return url


@pytest.mark.parametrize("scanner", [False, True], ids=["python", "sqlite-scanner"])
def test_copy_answers_equal_the_store_sql(
    ledger: str, scanner: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(columnar_sources, "SCAN_MIN_ROWS", 1 if scanner else 10**12)
    said: list[str] = []
    assert _copied(ledger, said) == _direct(ledger)
    assert said == [
        f"report: building the columnar copy of {ledger} in {columnar.copy_dir(ledger)} (once)"
    ]
    top = _direct(ledger)[3][0]  # the edge row is the costliest: its text and ts are compared
    assert (top.id, top.ts) == (EDGE.id, EDGE.ts)  # type: ignore[attr-defined]


def test_both_builds_write_the_same_parquet(ledger: str, tmp_path: Path) -> None:
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    src = columnar_sources.SQLiteSource(ledger.removeprefix("sqlite:///"))
    try:
        src._python(0, 8, tmp_path / "python.parquet")
        src._scan(8, tmp_path / "scan.parquet")
    finally:
        src.close()
    by_python = pq.read_table(tmp_path / "python.parquet").sort_by("id")
    by_scan = pq.read_table(tmp_path / "scan.parquet").sort_by("id")
    assert by_python.schema == by_scan.schema == columnar_sources.arrow_schema()
    assert by_python.to_pylist() == by_scan.to_pylist()


def test_scan_drops_rows_appended_while_it_read(ledger: str, tmp_path: Path) -> None:
    """sqlite_scan reads the whole table: rows past the planned rowid must not be copied
    twice (the next sync copies them)."""
    import pyarrow.parquet as pq

    src = columnar_sources.SQLiteSource(ledger.removeprefix("sqlite:///"))
    try:
        assert src._scan(5, tmp_path / "five.parquet") == 5
    finally:
        src.close()
    ids = pq.read_table(tmp_path / "five.parquet").column("id").to_pylist()
    assert sorted(ids) == ["r1", "r2", "r3", "r4", "r5"]


def test_sync_copies_only_new_rows_and_merges_the_tail(
    ledger: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(columnar, "_TAIL_SEGMENTS", 3)
    monkeypatch.setattr(columnar, "_BIG_SEGMENT", 8)  # the first copy is big: never rewritten
    first = columnar.sync(ledger, say=lambda _: None)
    assert (first.copied, first.rows, first.rebuilt) == (8, 8, True)
    assert columnar.sync(ledger).copied == 0
    for i in range(4):
        _append(ledger, [replace(ROWS[0], id=f"late-{i}"), replace(ROWS[6], id=f"later-{i}")])
        step = columnar.sync(ledger)
        assert (step.copied, step.rows, step.rebuilt) == (2, 10 + 2 * i, False)
        assert _copied(ledger) == _direct(ledger)
    manifest = columnar.Manifest.load(columnar.copy_dir(ledger) / "manifest.json")
    # the build, then 4 appends of 2 rows merged into one once there were more than 3
    assert [(x.file, x.rows) for x in manifest.segments] == [
        ("rows-000000000001-000000000008.parquet", 8),
        ("rows-000000000009-000000000016.parquet", 8),
    ]
    assert manifest.rows == 16 and manifest.high == 16
    files = {p.name for p in columnar.copy_dir(ledger).glob("*.parquet")}
    assert files == {s.file for s in manifest.segments} | {
        f"cube-{s.file}" for s in manifest.segments
    }
    assert all(s.cube == f"cube-{s.file}" for s in manifest.segments)


def test_cube_is_read_from_the_segments_cells_and_from_rows_without_them(ledger: str) -> None:
    columnar.sync(ledger, say=lambda _: None)
    reader = columnar.open_report_reader(ledger, say=lambda _: None)
    try:
        assert isinstance(reader, columnar.ColumnarReader) and reader.has_cube
    finally:
        reader.close()
    assert _copied(ledger) == _direct(ledger)
    # a copy made before segments had cube cells: its rows are summed instead
    path = columnar.copy_dir(ledger) / "manifest.json"
    m = columnar.Manifest.load(path)
    m.segments = [replace(s, cube=None) for s in m.segments]
    m.save(path)
    reader = columnar.ColumnarReader(ledger, columnar.copy_dir(ledger))
    try:
        assert not reader.has_cube
        assert answers(reader) == _direct(ledger)
    finally:
        reader.close()
    columnar.sync(ledger)  # ... and the next sync sums them
    assert all(s.cube for s in columnar.Manifest.load(path).segments)


def test_another_ledger_at_the_same_path_is_copied_anew(tmp_path: Path) -> None:
    url = make_ledger(tmp_path)
    columnar.sync(url, say=lambda _: None)
    path = Path(url.removeprefix("sqlite:///"))
    for p in path.parent.glob(path.name + "*"):
        if p.is_file():
            p.unlink()
    _append(url, [replace(r, id=f"new-{r.id}") for r in ROWS[:3]])
    again = columnar.sync(url, say=lambda _: None)
    assert (again.rebuilt, again.rows) == (True, 3)
    assert _copied(url) == _direct(url)


def test_report_tables_equal_and_the_ledger_is_not_written(ledger: str, tmp_path: Path) -> None:
    path = Path(ledger.removeprefix("sqlite:///"))
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    inputs = ReportInputs(cards=CARDS, budgets_usd={"acme": Decimal(1)})
    direct = q.open_reader(ledger)
    copy = columnar.open_report_reader(ledger, say=lambda _: None)
    try:
        by_sql = build_ledger_report(direct, inputs=inputs)
        by_copy = build_ledger_report(copy, inputs=inputs)
    finally:
        direct.close()
        copy.close()
    assert [(t.key, t.rows) for t in by_copy.tables()] == [(t.key, t.rows) for t in by_sql.tables()]
    write_ledger_report(ledger, tmp_path / "out", inputs)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_without_the_scanner_python_copies_and_says_so(
    ledger: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(columnar_sources, "SCAN_MIN_ROWS", 1)
    monkeypatch.setitem(sys.modules, "duckdb_extension_sqlite_scanner", None)  # not installed
    said: list[str] = []
    assert _copied(ledger, said) == _direct(ledger)
    assert said[1] == (
        "report: duckdb's sqlite scanner is not installed (pip install 'unitcost[report]'); "
        "copying the rows with Python instead (slower)"
    )


def test_without_duckdb_the_store_sql_answers_and_says_so(
    ledger: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "duckdb", None)
    said: list[str] = []
    reader = columnar.open_report_reader(ledger, say=said.append)
    try:
        assert reader.dialect == "sqlite"
        assert answers(reader) == _direct(ledger)
    finally:
        reader.close()
    assert said[-1] == (
        "report: duckdb is not installed (pip install 'unitcost[report]'); "
        f"reading {ledger} with its own SQL (slow past ~1M rows)"
    )


def test_an_unwritable_copy_folder_falls_back(
    ledger: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("UNITCOST_COLUMNAR_DIR", str(tmp_path / "a-file" / "below"))
    said: list[str] = []
    reader = columnar.open_report_reader(ledger, say=said.append)
    reader.close()
    assert reader.dialect == "sqlite"
    assert len(said) == 1 and said[0].startswith("report: cannot write ")
    assert said[0].endswith(f"reading {ledger} with its own SQL (slow past ~1M rows)")


def test_switched_off_and_bad_ledgers(
    ledger: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InputError, match="does not exist"):
        columnar.open_report_reader(f"sqlite:///{tmp_path / 'missing.db'}")
    monkeypatch.setenv("UNITCOST_COLUMNAR", "off")
    reader = columnar.open_report_reader(ledger)
    reader.close()
    assert reader.dialect == "sqlite" and not columnar.copy_dir(ledger).exists()


def test_an_empty_ledger_reads_as_empty(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    open_store(url).close()
    assert _copied(url) == _direct(url)


def test_a_small_ledger_without_a_copy_is_read_by_its_sql(
    ledger: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(columnar, "COPY_MIN_ROWS", 9)  # the ledger has 8 rows
    said: list[str] = []
    reader = columnar.open_report_reader(ledger, say=said.append)
    reader.close()
    assert reader.dialect == "sqlite" and said == [] and not columnar.copy_dir(ledger).exists()
    monkeypatch.setattr(columnar, "COPY_MIN_ROWS", 8)
    reader = columnar.open_report_reader(ledger, say=said.append)
    reader.close()
    assert isinstance(reader, columnar.ColumnarReader) and len(said) == 1
    monkeypatch.setattr(columnar, "COPY_MIN_ROWS", 9)  # once there is a copy, it is kept up
    reader = columnar.open_report_reader(ledger, say=said.append)
    reader.close()
    assert isinstance(reader, columnar.ColumnarReader)
